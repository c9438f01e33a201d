"""A PostgreSQL server of a test's own, for tests that stop and start one.

The machine's server (127.0.0.1:5432) serves everyone's tests and is never stopped; this
one lives in a temporary directory (initdb, trust authentication), listens on a free
loopback port with its socket in that directory, and is removed with it. initdb and the
server refuse to run as root, so as root they run as the `postgres` user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import free_port

BIN = Path("/usr/lib/postgresql/15/bin")
_USER = "postgres"


class PostgresServer:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.port = port

    @property
    def url(self) -> str:
        """The gateway's form of the address (SQLAlchemy, psycopg 3)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        _run(BIN / "initdb", "-D", self.data, "-U", _USER, "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = self.directory / "postgres.log"
        _run(BIN / "pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        _run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")


@contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    """A started server; stopped (immediate mode) and deleted afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="pg-test-"))
    if os.geteuid() == 0:
        shutil.chown(directory, _USER)
    server = PostgresServer(directory, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.stop("immediate")
        shutil.rmtree(directory, ignore_errors=True)


def _run(*argv: str | Path) -> None:
    command = [str(part) for part in argv]
    if os.geteuid() == 0:
        command = ["runuser", "-u", _USER, "--", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
