"""Which checkpoint our router serves: the record `live.json` in the checkpoints directory.

Promotion writes it (atomically: a new file renamed over the old); every replica reads it
at start and watches it (`LiveWatcher`), so a promotion made on one replica or by the
`promote` command reaches all of them within a second, without a restart. Without a record
the shipped checkpoint is live. The record names a file of the directory, never a path.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from router_service.checkpoint import DEFAULT_PATH

log = logging.getLogger(__name__)

RECORD = "live.json"
SHIPPED = "shipped"


@dataclass(frozen=True)
class LiveRecord:
    checkpoint: str  # a file name in the checkpoints directory
    sha256: str
    promoted_at: str
    apgr: float
    cpt50: float
    held_out: str


def read_record(directory: Path) -> LiveRecord | None:
    """The record, or None when there is none (or it is unreadable: then the shipped one)."""
    path = directory / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        live = LiveRecord(**record)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as error:
        log.warning("%s unreadable, serving the shipped checkpoint: %s", path, error)
        return None
    if Path(live.checkpoint).name != live.checkpoint:
        log.warning("%s names %r, not a file of its directory: ignored", path, live.checkpoint)
        return None
    return live


def live_path(directory: Path | None) -> Path:
    """The live checkpoint's file."""
    live = read_record(directory) if directory is not None else None
    return directory / live.checkpoint if directory is not None and live else DEFAULT_PATH


def write_record(directory: Path, live: LiveRecord) -> None:
    temporary = directory / f".{RECORD}.{os.getpid()}.{threading.get_ident()}"
    temporary.write_text(json.dumps(asdict(live), indent=2, sort_keys=True) + "\n")
    os.replace(temporary, directory / RECORD)


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class LiveWatcher:
    """Calls `changed(record)` when the record's content changes (checked every `period_s`)."""

    def __init__(
        self, directory: Path, changed: Callable[[LiveRecord], None], period_s: float = 0.5
    ) -> None:
        self._directory = directory
        self._changed = changed
        self._period_s = period_s
        self._stop = threading.Event()
        self._seen = read_record(directory)
        self._thread = threading.Thread(target=self._run, name="live-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            live = read_record(self._directory)
            if live is None or live == self._seen:
                continue
            self._seen = live
            try:
                self._changed(live)
            except Exception as error:  # a bad file must not stop the watch: say why
                log.warning("live checkpoint %s not applied: %s", live.checkpoint, error)
