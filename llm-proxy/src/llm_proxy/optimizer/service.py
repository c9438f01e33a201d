"""Speaking to the optimizer service: its catalogue of approaches, and one run per request.

The catalogue (each approach's expected sub-calls, for the budget reservation) is read once
and kept; an optimizer that cannot be reached raises `Unavailable`, and the request is then
answered by one plain call. The URL is the gateway's configuration, never the request's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import aiohttp
import orjson

from llm_proxy.pipeline.errors import GatewayError


class Unavailable(Exception):
    """The optimizer could not be reached, or answered with something that is not an answer."""


@dataclass(frozen=True, slots=True)
class Answer:
    body: bytes
    summary: str | None  # its x-gateway-optimizer


@dataclass(slots=True)
class Streamed:
    events: AsyncIterator[bytes]
    summary: str | None


class OptimizerService:
    def __init__(self, session: Callable[[], aiohttp.ClientSession]) -> None:
        # The HTTP session is shared with the fast path and created lazily on its loop.
        self._session = session
        self._catalogue: dict[str, int] | None = None

    async def expected_calls(self, url: str, approaches: tuple[str, ...]) -> int:
        """Sub-calls the approaches make, summed; 400 for one the optimizer cannot run."""
        catalogue = self._catalogue
        if catalogue is None:
            catalogue = self._catalogue = await self._fetch_catalogue(url)
        missing = [name for name in approaches if name not in catalogue]
        if missing:
            raise GatewayError(
                400,
                f"The optimizer does not run the approach {missing[0]!r}; it runs: "
                f"{', '.join(catalogue)}.",
                param="optillm_approach",
            )
        return sum(catalogue[name] for name in approaches)

    async def answer(
        self, url: str, body: dict[str, object], headers: dict[str, str], timeout_s: float
    ) -> Answer:
        try:
            async with self._session().post(
                _chat(url), data=orjson.dumps(body), headers=headers, timeout=_timeout(timeout_s)
            ) as response:
                raw = await response.read()
                if response.status != 200:
                    raise _refusal(response.status, raw)
                return Answer(raw, response.headers.get("x-gateway-optimizer"))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(str(exc) or type(exc).__name__) from exc

    async def stream(
        self, url: str, body: dict[str, object], headers: dict[str, str], timeout_s: float
    ) -> Streamed:
        session = self._session()
        try:
            response = await session.post(
                _chat(url), data=orjson.dumps(body), headers=headers, timeout=_timeout(timeout_s)
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable(str(exc) or type(exc).__name__) from exc
        if response.status != 200:
            raw = await response.read()
            response.release()
            raise _refusal(response.status, raw)
        return Streamed(_relay(response), response.headers.get("x-gateway-optimizer"))

    async def _fetch_catalogue(self, url: str) -> dict[str, int]:
        try:
            async with self._session().get(
                url.rstrip("/") + "/approaches", timeout=_timeout(5)
            ) as response:
                answer = orjson.loads(await response.read())
            return {str(row["name"]): int(row["expected_calls"]) for row in answer["data"]}
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            raise Unavailable(f"the optimizer's catalogue: {exc}") from exc


async def _relay(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable(str(exc) or type(exc).__name__) from exc
    finally:
        response.release()


def _refusal(status: int, raw: bytes) -> GatewayError:
    """The optimizer's own error (a refused conversation, a sub-call's 429), passed on."""
    try:
        error = orjson.loads(raw)["error"]
        message, code, param = str(error["message"]), error.get("code"), error.get("param")
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return GatewayError(502, f"The optimizer answered {status}.", code="optimizer_error")
    return GatewayError(status, message, code=code, param=param)


def _chat(url: str) -> str:
    return url.rstrip("/") + "/v1/chat/completions"


def _timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds)
