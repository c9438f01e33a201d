"""Errors the simulator answers with, before they are put in a wire format."""

from __future__ import annotations

from http import HTTPStatus


class SimError(Exception):
    """An error response: a bad request, or an injected fault."""

    def __init__(
        self,
        status: int,
        message: str,
        param: str | None = None,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.retry_after_s = retry_after_s


def fault_message(status: int) -> str:
    """What a provider says along with `status`."""
    if status == 429:
        return "Rate limit reached for requests (simulated). Please try again later."
    if status == 504:
        return "The upstream timed out (simulated)."
    if status >= 500:
        return f"The server had an error while processing your request (simulated {status})."
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return f"{phrase} (simulated {status})."
