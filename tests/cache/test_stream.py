"""Streamed answers are collected and stored; a hit on a streamed request replays as SSE."""

from __future__ import annotations

from typing import Any

import httpx
import openai

from tests.cache.conftest import MODEL, miss_and_store, received, stats, wait_stored
from tests.support.openapi import validate
from tests.support.processes import Gateway


def _stream(gw: Gateway, prompt: str, include_usage: bool) -> tuple[str, list[Any]]:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key)
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": include_usage},
    )
    chunks = list(raw.parse())
    return raw.headers["x-gateway-cache"], chunks


def _text(chunks: list[Any]) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def test_a_streamed_answer_is_stored_and_replayed_to_the_sdk(
    gw: Gateway, sim: httpx.Client, marker: str
) -> None:
    prompt = f"{marker} Count to five."
    before = stats(gw)["stored"]
    verdict, fresh = _stream(gw, prompt, include_usage=True)
    assert verdict == "miss"
    wait_stored(gw, before)
    verdict, replayed = _stream(gw, prompt, include_usage=True)
    assert verdict == "hit"
    assert _text(replayed) == _text(fresh)
    assert replayed[-1].usage is not None
    assert replayed[-1].usage.completion_tokens == fresh[-1].usage.completion_tokens
    assert replayed[-2].choices[0].finish_reason == fresh[-2].choices[0].finish_reason == "stop"
    for chunk in replayed:
        validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
    assert len(received(sim)) == 1


def test_the_replay_has_the_upstream_chunk_shape(gw: Gateway, marker: str) -> None:
    """Same fields in each chunk as the provider sent, usage only when asked for."""
    prompt = f"{marker} Say something short."
    body = {"model": MODEL, "messages": [{"role": "user", "content": prompt}], "stream": True}
    with gw.client() as http:
        before = stats(gw)["stored"]
        fresh = http.post("/v1/chat/completions", json=body)
        wait_stored(gw, before)
        replayed = http.post("/v1/chat/completions", json=body)
    assert replayed.headers["x-gateway-cache"] == "hit"
    assert replayed.headers["content-type"].startswith("text/event-stream")
    fresh_frames, replayed_frames = _frames(fresh.text), _frames(replayed.text)
    assert replayed_frames[-1] == fresh_frames[-1] == "[DONE]"
    fresh_keys = {
        key for frame in fresh_frames[:-1] for key in httpx.Response(200, content=frame).json()
    }
    for frame in replayed_frames[:-1]:
        chunk = httpx.Response(200, content=frame).json()
        assert set(chunk) <= fresh_keys
        assert chunk["object"] == "chat.completion.chunk"
        assert "usage" not in chunk


def test_stored_once_answered_both_ways(gw: Gateway, marker: str) -> None:
    prompt = f"{marker} Name a colour."
    whole = miss_and_store(gw, prompt)
    verdict, chunks = _stream(gw, prompt, include_usage=False)
    assert verdict == "hit"
    assert _text(chunks) == whole.json()["choices"][0]["message"]["content"]
    assert all(chunk.usage is None for chunk in chunks)


def _frames(body: str) -> list[str]:
    return [part.removeprefix("data: ") for part in body.split("\n\n") if part.strip()]
