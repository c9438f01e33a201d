"""The command line: `python -m llm_proxy.simulator --port PORT [--config F] [--name N]`."""

from __future__ import annotations

import argparse
import sys

import uvloop

from llm_proxy.simulator.config import load_config
from llm_proxy.simulator.server import bind, serve


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m llm_proxy.simulator",
        description="A stand-in for OpenAI and Anthropic, with latency and faults.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--config", help="YAML file: name, default, models, record_limit, seed")
    parser.add_argument("--name", help="value of the x-sim-instance header (default: sim)")
    parser.add_argument("--log-level", default="warning")
    return parser.parse_args(argv)


def _announce(url: str) -> None:
    print(f"simulator listening on {url}", flush=True)


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    try:
        config = load_config(args.config, args.name)
    except (OSError, ValueError) as exc:
        sys.exit(f"simulator: bad configuration: {exc}")
    sock = bind(args.host, args.port)
    uvloop.run(serve(config, sock, _announce, args.log_level))


if __name__ == "__main__":
    main()
