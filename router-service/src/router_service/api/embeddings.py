"""`POST /v1/embeddings`: OpenAI's embeddings API on the local all-MiniLM-L6-v2.

The official SDKs ask for `encoding_format: base64` unless told otherwise (little-endian
float32), so both formats are served. Texts longer than the model's 256 word pieces are cut
there, as sentence-transformers does.
"""

from __future__ import annotations

import base64
from typing import Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from router_service.api.errors import error_response
from router_service.embedding import DIMENSIONS, MODEL_NAME, MiniLMEncoder

router = APIRouter()

MODEL_ALIASES = frozenset({MODEL_NAME, f"sentence-transformers/{MODEL_NAME}", "local-embedding"})
MAX_INPUTS = 2048


class EmbeddingsRequest(BaseModel):
    input: str | list[str]
    model: str
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(default=None, ge=1)
    user: str | None = None


@router.post("/v1/embeddings", response_model=None)
def embeddings(body: EmbeddingsRequest, request: Request) -> JSONResponse | dict[str, Any]:
    texts = [body.input] if isinstance(body.input, str) else body.input
    problem = _problem(body, texts)
    if problem is not None:
        return problem
    encoder: MiniLMEncoder = request.app.state.service.encoder
    vectors = encoder.encode(texts)
    tokens = sum(len(ids) for ids in encoder.token_ids(texts))
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(vectors)
        ],
        "model": body.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _problem(body: EmbeddingsRequest, texts: list[str]) -> JSONResponse | None:
    if body.model not in MODEL_ALIASES:
        message = f"The model `{body.model}` does not exist; this service embeds with {MODEL_NAME}"
        return error_response(404, message, "model_not_found", "model")
    if not texts or len(texts) > MAX_INPUTS:
        return error_response(400, f"input must hold 1 to {MAX_INPUTS} strings", "invalid", "input")
    if any(not text for text in texts):
        return error_response(400, "input must not contain empty strings", "invalid", "input")
    if body.dimensions not in (None, DIMENSIONS):
        message = f"{MODEL_NAME} has {DIMENSIONS} dimensions; it cannot give {body.dimensions}"
        return error_response(400, message, "invalid", "dimensions")
    return None


def _encode(vector: np.ndarray, encoding_format: str) -> list[float] | str:
    array = np.asarray(vector, dtype="<f4")
    if encoding_format == "base64":
        return base64.b64encode(array.tobytes()).decode("ascii")
    return array.tolist()
