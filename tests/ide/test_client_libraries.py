"""Client libraries no one here wrote, against the gateway: LangChain's ChatOpenAI (chat and
the Responses API) and ChatAnthropic, with tools and streaming; LiteLLM's SDK as a client."""

from __future__ import annotations

import os

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.support.processes import Gateway


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _tool_round_trip(llm: ChatOpenAI | ChatAnthropic) -> None:
    with_tools = llm.bind_tools([get_weather])
    question = HumanMessage("What is the weather in Paris?")
    asked = with_tools.invoke([question])
    assert isinstance(asked, AIMessage) and asked.tool_calls
    call = asked.tool_calls[0]
    assert call["name"] == "get_weather" and isinstance(call["args"]["city"], str)
    result = ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])
    answered = with_tools.invoke([question, asked, result])
    assert answered.text and not answered.tool_calls


@pytest.mark.parametrize("responses_api", [False, True])
def test_langchain_chat_openai(gateway: Gateway, responses_api: bool) -> None:
    llm = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=gateway.v1,
        api_key=gateway.master_key,  # type: ignore[arg-type]
        use_responses_api=responses_api,
        max_retries=0,
    )
    _tool_round_trip(llm)
    chunks = list(llm.stream("Stream a haiku"))
    assert len(chunks) > 1
    assert "Stream a haiku" in "".join(chunk.text for chunk in chunks)


@pytest.mark.parametrize("model", ["claude-3-5-haiku-latest", "gpt-4o-mini"])
def test_langchain_chat_anthropic(gateway: Gateway, model: str) -> None:
    llm = ChatAnthropic(
        model_name=model,
        base_url=gateway.url,
        api_key=gateway.master_key,  # type: ignore[arg-type]
        max_tokens_to_sample=64,
        max_retries=0,
        timeout=60,
        stop=None,
    )
    _tool_round_trip(llm)
    chunks = list(llm.stream("Stream a limerick"))
    assert len(chunks) > 1
    assert "Stream a limerick" in "".join(chunk.text for chunk in chunks)


@pytest.mark.timeout(600)  # the first `import litellm` takes seconds, more on a busy machine
def test_litellm_sdk_as_a_client(gateway: Gateway) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    messages = [{"role": "user", "content": "Hello from LiteLLM"}]
    common = {"api_base": gateway.v1, "api_key": gateway.master_key, "num_retries": 0}
    response = litellm.completion(model="openai/gpt-4o-mini", messages=messages, **common)
    assert "Hello from LiteLLM" in response.choices[0].message.content
    assert response.usage.completion_tokens == 12
    streamed = litellm.completion(
        model="openai/m-streamy", messages=messages, stream=True, **common
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed)
    assert "Hello from LiteLLM" in text
