"""A real 3-master Redis Cluster on loopback free ports, for the tests that need one.

The machine's Redis is a single server shared by everyone; a cluster is started per test
module in temporary directories (no persistence) and stopped after.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.support.processes import free_port

MASTERS = 3


@contextmanager
def redis_cluster(directory: Path) -> Iterator[str]:
    """Start the nodes, join them into a cluster, wait for cluster_state:ok; yields the
    gateway's `redis.url` for it (`redis+cluster://127.0.0.1:<first node>`)."""
    ports = [free_port() for _ in range(MASTERS)]
    nodes = [_start_node(directory, port) for port in ports]
    try:
        for port in ports:
            _wait_answering(port)
        nodes_at = [f"127.0.0.1:{p}" for p in ports]
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *nodes_at,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        for port in ports:
            _wait_cluster_ok(port)
        yield f"redis+cluster://127.0.0.1:{ports[0]}"
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            try:
                node.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.kill()


def _start_node(directory: Path, port: int) -> subprocess.Popen[bytes]:
    home = directory / f"node-{port}"
    home.mkdir(parents=True)
    # The cluster bus's port named too: by default it is port + 10000, maybe taken or > 65535.
    command = ["redis-server", "--cluster-enabled", "yes", "--port", str(port)]
    command += ["--cluster-port", str(free_port())]
    command += ["--bind", "127.0.0.1", "--cluster-config-file", str(home / f"nodes-{port}.conf")]
    command += ["--dir", str(home), "--save", "", "--appendonly", "no", "--daemonize", "no"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_answering(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1) as client:
                client.ping()
                return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _wait_cluster_ok(port: int, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    with redis.Redis(host="127.0.0.1", port=port, socket_timeout=1) as client:
        while (info := client.cluster("INFO")).get("cluster_state") != "ok":
            assert time.monotonic() < deadline, f"node {port}: cluster not ok: {info!r}"
            time.sleep(0.1)
