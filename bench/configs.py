"""The configuration files of the servers, all pointing at the same simulator profile."""

from __future__ import annotations

from pathlib import Path

import yaml

MODEL = "gpt-4o-mini"

# The upstream's behaviour, identical for every target (direct included), so latency
# differences are the proxies' own. Non-streaming answers come back at once: anything on
# top of direct is overhead. Streams start at once and then pace 16 tokens 1 ms apart, so
# each token is its own SSE write the proxy has to relay, as with a real model.
SIMULATOR_PROFILE: dict[str, object] = {
    "latency_ms": 0,
    "ttft_ms": 0,
    "tokens_per_second": 1000,
    "output_tokens": 16,
}


def write_simulator(directory: Path) -> Path:
    """The simulator's YAML: the profile above for every model, nothing recorded."""
    config = {"name": "bench", "default": SIMULATOR_PROFILE, "record_limit": 0}
    return _write(directory / "simulator.yaml", config)


def write_gateway(
    directory: Path,
    simulator_url: str,
    port: int,
    *,
    name: str = "gateway",
    sections: dict[str, object] | None = None,
) -> Path:
    """Our gateway: one simulator backend, default pipeline, quiet logs; `sections` add to it.
    Its embedded database and spool are the run's own: one left in the working directory
    by earlier runs grows with each, and its inserts slow with it."""
    config: dict[str, object] = {
        "gateway": {"listen": {"host": "127.0.0.1", "port": port}},
        "database": {"url": f"sqlite+aiosqlite:///{directory / f'{name}.db'}"},
        "spend": {"spool_dir": str(directory / f"{name}.spool")},
        "backends": [
            {
                "name": "sim-a",
                "provider": "simulator",
                "endpoint": f"{simulator_url}/v1",
                "model": MODEL,
            }
        ],
        "routing": {"strategy": "weighted"},
        "observability": {"log_level": "warning"},
        **(sections or {}),
    }
    return _write(directory / f"{name}.yaml", config)


def full_sections(
    database_url: str, redis_url: str, redis_prefix: str, spool_dir: Path
) -> dict[str, object]:
    """What `ours-full` adds: Postgres (migrated beforehand, as a deployment does), Redis
    counters and signals, and a rate-limit rule on the model no cell comes near."""
    return {
        "database": {"url": database_url, "migrate_on_start": False},
        "redis": {"url": redis_url, "prefix": redis_prefix},
        "spend": {"spool_dir": str(spool_dir)},
        "limits": {
            "enabled": True,
            "rules": [{"model": MODEL, "per": "model", "rpm": 100_000_000, "tpm": 2_000_000_000}],
        },
    }


# What `ours-cache` adds: the exact response cache, in process. Every target sends the same
# request, so after the first answer each one is an exact hit.
CACHE_SECTIONS: dict[str, object] = {"cache": {"enabled": True, "semantic": {"enabled": False}}}

# Under valgrind (`bench.instructions`) a request takes some 50 times as long, and a
# loaded machine stalls it for seconds more: the adaptive deadlines (4 x the p95 seen,
# from 0.5 s; connect 1 s) then time attempts out, retry and hedge them, and the count
# would be the machine's load. Deadlines of a minute never fire there; the code that
# sets and clears them runs as it always does.
SLOW_DEADLINES: dict[str, object] = {
    "routing": {
        "strategy": "weighted",
        "deadlines": {"connect_s": 60, "floor_s": 60, "cap_s": 60},
    }
}

# What "all on" is in `bench.telemetry_overhead` (and `bench.instructions --telemetry`):
# tracing (OTLP, to wherever OTEL_EXPORTER_OTLP_ENDPOINT points), Prometheus metrics and
# the JSON request log at info.
TELEMETRY_ON: dict[str, object] = {
    "tracing": True,
    "metrics": True,
    "request_log": True,
    "log_level": "info",
}


def write_litellm(directory: Path, simulator_url: str, master_key: str) -> Path:
    """Stock LiteLLM proxy as its docs set it up, minus what would only slow it down here.

    No database (so no spend logs, key checks against the master key only), no callbacks,
    no message logging: its best case, which makes the comparison fair to it.
    """
    config: dict[str, object] = {
        "model_list": [
            {
                "model_name": MODEL,
                "litellm_params": {
                    "model": f"openai/{MODEL}",
                    "api_base": f"{simulator_url}/v1",
                    "api_key": "x",
                },
            }
        ],
        "litellm_settings": {
            "set_verbose": False,
            "turn_off_message_logging": True,
            "callbacks": [],
        },
        "general_settings": {"master_key": master_key, "disable_spend_logs": True},
    }
    return _write(directory / "litellm.yaml", config)


def _write(path: Path, config: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path
