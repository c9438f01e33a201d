"""The gateway's own request ids: `req_` and 128 random bits in hex.

`uuid.uuid4().hex` gives the same shape but builds a UUID object on the way (about 6 µs
here against under 2 µs for the bytes alone), once or twice on every request.
"""

from __future__ import annotations

import os


def new_request_id() -> str:
    return "req_" + os.urandom(16).hex()
