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

    def repeats(self, earlier: UpstreamError | None) -> bool:
        """The same answer to the same request as `earlier`: an HTTP error of the same
        status and message (from whichever deployment; the message names it first, as
        `name: …`). A request that fails so twice is the client's problem, not the
        upstream's: trying again only repeats it, and counts against a shared deployment."""
        if earlier is None or self.kind != "http" or earlier.kind != "http" or self.throttled:
            return False
        return self.status == earlier.status and _detail(self.message) == _detail(earlier.message)


def _detail(message: str) -> str:
    return message.partition(": ")[2] or message


def parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
