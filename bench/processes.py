"""The servers under test as child processes: start, pin to a core, wait, measure, stop.

CPU and memory are read from /proc for the whole process tree, because a server may fork
workers (the LiteLLM CLI can) and the figures must include them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One child process serving HTTP on 127.0.0.1."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        """User + system CPU time consumed so far by the server and its descendants."""
        return sum(_cpu_ticks(pid) for pid in _tree(self.pid)) / _CLOCK_TICKS

    def rss_bytes(self) -> int:
        """Resident memory of the server and its descendants."""
        return sum(_rss_bytes(pid) for pid in _tree(self.pid))

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the process group (workers included), SIGKILL what outlives the timeout."""
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start(
    name: str,
    argv: Sequence[str],
    *,
    cores: set[int],
    log_dir: Path,
    env: Mapping[str, str | None] | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start `argv` in its own process group, confined to `cores`, output to a log file.

    `env` adds to this process's environment; a None value removes that variable.
    """
    child_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            child_env.pop(key, None)
        else:
            child_env[key] = value
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
            start_new_session=True,  # its own group, so stop() reaches forked workers too
            # Set before exec so every thread and forked worker inherits the core.
            preexec_fn=_pin(cores),
        )
    return Server(name, process, log_path)


def wait_ready(server: Server, url: str, timeout_s: float) -> None:
    """Poll `url` until it answers 200; fail with the server's log if it dies or stalls."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        if _answers_ok(url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} not ready after {timeout_s:.0f} s:\n{server.log_tail()}")


def machine_busy_seconds() -> float:
    """CPU time all cores have spent busy since boot (every process, ours and others')."""
    with open("/proc/stat") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    return (sum(fields[:8]) - fields[3] - fields[4]) / _CLOCK_TICKS


def pin_self(cores: set[int]) -> None:
    """Confine the calling process (the load generator) to `cores`."""
    os.sched_setaffinity(0, cores)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))


def _pin(cores: set[int]) -> Callable[[], None]:
    def apply() -> None:
        os.sched_setaffinity(0, cores)
        _share_niceness()

    return apply


def _share_niceness() -> None:
    """Give the new session's scheduling group this process's niceness.

    With the kernel's autogroups on (`/proc/sys/kernel/sched_autogroup_enabled`), a
    process's niceness orders it only within its session: against other sessions (other
    people's work on a shared machine) a server started in a session of its own competes
    as a group at niceness 0, whatever `--nice` says. Runs in the child, after setsid.
    """
    # Without autogroups, or a negative niceness without the privilege: as before.
    with contextlib.suppress(OSError), open("/proc/self/autogroup", "w") as group:
        group.write(str(os.getpriority(os.PRIO_PROCESS, 0)))


def _answers_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tree(pid: int) -> list[int]:
    """`pid` and all its live descendants, from the kernel's per-task children lists."""
    pids = [pid]
    index = 0
    while index < len(pids):
        pids.extend(_children(pids[index]))
        index += 1
    return pids


def _children(pid: int) -> list[int]:
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                children.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return children


def _cpu_ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            stat = handle.read()
    except OSError:
        return 0
    # The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return utime + stime


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0
