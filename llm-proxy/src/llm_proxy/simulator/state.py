"""Everything one simulator instance holds between requests."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from llm_proxy.simulator.config import SimulatorConfig
from llm_proxy.simulator.faults import FaultQueue
from llm_proxy.simulator.recorder import Recorder

# Listed by GET /v1/models when the configuration names no models.
DEFAULT_MODELS = (
    "gpt-4o",
    "gpt-4o-mini",
    "text-embedding-3-small",
    "claude-3-5-sonnet-latest",
    "claude-3-5-haiku-latest",
)


@dataclass(slots=True)
class SimulatorState:
    config: SimulatorConfig
    faults: FaultQueue = field(default_factory=FaultQueue)
    recorder: Recorder = field(init=False)
    rng: random.Random = field(init=False)
    started: int = field(default_factory=lambda: int(time.time()))

    def __post_init__(self) -> None:
        self.recorder = Recorder(self.config.record_limit)
        self.rng = random.Random(self.config.seed)

    def model_names(self) -> list[str]:
        return list(self.config.models) or list(DEFAULT_MODELS)

    def reset(self) -> None:
        self.faults.clear()
        self.recorder.clear()
