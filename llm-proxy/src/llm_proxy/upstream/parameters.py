"""What may travel to a provider: each client API's documented request parameters.

A body reaches an upstream only through `forwardable`, which keeps the fields its API
documents and drops the gateway's own. Nothing else passes, so LiteLLM's control
parameters (`api_base`, `api_key`, `extra_headers`, `mock_response`, provider
credentials, …) can never be smuggled through a request, whatever LiteLLM adds next.
The lists follow OpenAI's OpenAPI document and Anthropic's Messages reference; a test
checks the OpenAI ones against the document.
"""

from __future__ import annotations

from typing import Any

CHAT = frozenset(
    {
        "model",
        "messages",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)
COMPLETIONS = frozenset(
    {
        "model",
        "prompt",
        "best_of",
        "echo",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "max_tokens",
        "n",
        "presence_penalty",
        "seed",
        "stop",
        "stream",
        "stream_options",
        "suffix",
        "temperature",
        "top_p",
        "user",
    }
)
EMBEDDINGS = frozenset({"model", "input", "dimensions", "encoding_format", "user"})
RESPONSES = frozenset(
    {
        "model",
        "input",
        "background",
        "context_management",
        "conversation",
        "include",
        "instructions",
        "max_output_tokens",
        "max_tool_calls",
        "metadata",
        "moderation",
        "parallel_tool_calls",
        "previous_response_id",
        "prompt",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning",
        "safety_identifier",
        "service_tier",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "text",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "truncation",
        "user",
    }
)
MESSAGES = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "metadata",
        "service_tier",
        "stop_sequences",
        "stream",
        "system",
        "temperature",
        "thinking",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
    }
)
# Anthropic's `/v1/messages/count_tokens`: a Messages request without the generation knobs.
COUNT_TOKENS = frozenset({"model", "messages", "system", "tools", "tool_choice", "thinking"})
DOCUMENTED: dict[str, frozenset[str]] = {
    "chat": CHAT,
    "completions": COMPLETIONS,
    "count_tokens": COUNT_TOKENS,
    "embeddings": EMBEDDINGS,
    "messages": MESSAGES,
    "responses": RESPONSES,
}

# Read by the gateway and never sent on: `metadata` (tags, session, cache control, …; a
# provider has its own meaning for it, and LiteLLM reads control keys out of it), the
# prompt template a request is made from, and `optillm_approach`, the optimizer run a
# request asks for (llm_proxy.optimizer).
GATEWAY_FIELDS = frozenset(
    {
        "metadata",
        "optillm_approach",
        "prompt_id",
        "prompt_version",
        "prompt_label",
        "prompt_variables",
    }
)
# The one metadata field Anthropic documents; it is the caller's, so it is passed on.
_ANTHROPIC_METADATA = ("user_id",)


def forwardable(api: str, body: dict[str, Any]) -> dict[str, Any]:
    """The part of `body` a provider may see: documented fields, none of the gateway's."""
    documented = DOCUMENTED[api]
    sent = {k: v for k, v in body.items() if k in documented and k not in GATEWAY_FIELDS}
    metadata = body.get("metadata")
    if api == "messages" and isinstance(metadata, dict):
        kept = {k: metadata[k] for k in _ANTHROPIC_METADATA if k in metadata}
        if kept:
            sent["metadata"] = kept
    return sent


def undocumented(api: str, body: dict[str, Any]) -> list[str]:
    """The fields of `body` that are neither documented for `api` nor the gateway's."""
    documented = DOCUMENTED[api]
    return [k for k in body if k not in documented and k not in GATEWAY_FIELDS]
