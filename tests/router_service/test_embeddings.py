"""POST /v1/embeddings through the official OpenAI SDK, against sentence-transformers' own
vectors for the same model (minilm_reference.json, made once with sentence-transformers)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import openai

REFERENCE = json.loads(Path(__file__).with_name("minilm_reference.json").read_text())


def sdk(service_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{service_url}/v1", api_key="unused", max_retries=0)


def test_sdk_embeddings_match_sentence_transformers(service_url: str) -> None:
    # The SDK asks for base64 by default and decodes it: both formats are exercised.
    result = sdk(service_url).embeddings.create(model="all-MiniLM-L6-v2", input=REFERENCE["texts"])
    got = np.array([item.embedding for item in result.data])
    assert got.shape == (len(REFERENCE["texts"]), 384)
    np.testing.assert_allclose(got, np.array(REFERENCE["embeddings"]), atol=1e-5)
    assert [item.index for item in result.data] == list(range(len(REFERENCE["texts"])))
    assert result.usage.prompt_tokens > 0


def test_float_format_single_string(client: httpx.Client) -> None:
    response = client.post(
        "/v1/embeddings",
        json={"input": "hello world", "model": "all-MiniLM-L6-v2", "encoding_format": "float"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    vector = np.array(body["data"][0]["embedding"])
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5
    np.testing.assert_allclose(vector, REFERENCE["embeddings"][0], atol=1e-5)


def test_unknown_model_and_bad_input_are_openai_errors(service_url: str) -> None:
    client = sdk(service_url)
    try:
        client.embeddings.create(model="text-embedding-3-small", input="hi")
        raise AssertionError("expected a 404")
    except openai.NotFoundError as error:
        assert error.body["code"] == "model_not_found"  # type: ignore[index]
    try:
        client.embeddings.create(model="all-MiniLM-L6-v2", input=[""])
        raise AssertionError("expected a 400")
    except openai.BadRequestError as error:
        assert error.body["param"] == "input"  # type: ignore[index]
