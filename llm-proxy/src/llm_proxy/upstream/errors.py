"""What an upstream attempt can end in, whichever transport made it."""

from __future__ import annotations


class UpstreamError(Exception):
    """A failed attempt. `retryable` tells the dispatcher whether another try may help."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "http",
        retry_after_s: float | None = None,
        body: bytes | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.retry_after_s = retry_after_s
        self.body = body

    @property
    def retryable(self) -> bool:
        return (
            self.kind in ("timeout", "connection")
            or self.status in (408, 409, 429)
            or (self.status >= 500)
        )

    @property
    def throttled(self) -> bool:
        return self.status == 429


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
