"""The upstream simulator: a stand-in for LLM providers, for tests, benchmarks and the demo.

It speaks OpenAI's and Anthropic's wire formats with configurable latency, time to first token,
token rate and injected faults. Serve `build_app(config)` with any ASGI server, or run
`python -m llm_proxy.simulator --port PORT`.
"""

from llm_proxy.simulator.app import SimulatorApp, build_app
from llm_proxy.simulator.config import ModelProfile, SimulatorConfig, load_config

__all__ = ["ModelProfile", "SimulatorApp", "SimulatorConfig", "build_app", "load_config"]
