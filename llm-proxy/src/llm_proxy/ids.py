"""The gateway's own request ids: `req_` and 128 random bits in hex.

`uuid.uuid4().hex` gives the same shape but builds a UUID object on the way (about 6 µs
here against under 2 µs for the bytes alone), once or twice on every request. The bits
come from the OS's CSPRNG 4 KiB at a time (256 ids) rather than a read per id: each read
releases the GIL, which on a one-core process with the spend writer's thread waiting is a
thread switch per request. The ids stay unpredictable; a forked child starts its own pool,
so parent and child never hand out the same ones.
"""

from __future__ import annotations

import os

_ID_BYTES = 16
_POOL_BYTES = 4096
# Ready ids; `list.pop` is atomic, so threads taking ids never get the same one.
_pool: list[str] = []


def new_request_id() -> str:
    try:
        return _pool.pop()
    except IndexError:
        _refill()
        return _pool.pop()


def _refill() -> None:
    bits = os.urandom(_POOL_BYTES).hex()
    step = 2 * _ID_BYTES
    _pool.extend("req_" + bits[i : i + step] for i in range(0, len(bits), step))


os.register_at_fork(after_in_child=_pool.clear)
