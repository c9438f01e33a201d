"""The routing data set: one item per routed call, with both models' stored outcomes.

Reads `../shared/data/routing/` (see its README): GSM8K and MMLU give a correct/incorrect per
model and question, MT-Bench a GPT-4 grade (1-10) per model, question and turn, AlpacaEval a
GPT-4-Turbo preference between the two answers of each chat instruction. A turn-2 item of
MT-Bench carries both user turns, as the router sees the conversation at that step.
Prompts listed in `contaminated_prompts.jsonl` are dropped.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from router_service.conversation import Message

STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
BENCHMARKS = ("mmlu", "gsm8k", "mt_bench", "alpaca_eval")


@dataclass(frozen=True)
class Item:
    benchmark: str
    # Items of one question share it, so a split by question keeps all turns together.
    question: str
    messages: tuple[Message, ...]
    strong: float
    weak: float
    category: str = ""


def default_data_dir() -> Path:
    """`../shared/data/routing` beside the repository, found from this file."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "routing"
        if candidate.is_dir():
            return candidate
    return Path("../shared/data/routing")


def load_items(data_dir: Path, benchmarks: tuple[str, ...] = BENCHMARKS) -> list[Item]:
    loaders = {"mmlu": _mmlu, "gsm8k": _gsm8k, "mt_bench": _mt_bench, "alpaca_eval": _alpaca_eval}
    items: list[Item] = []
    for name in benchmarks:
        items.extend(loaders[name](data_dir))
    return items


def _normalise(text: str) -> str:
    # Contaminated prompts are listed with slightly different whitespace and quotes.
    return re.sub(r"\W+", " ", text).strip().lower()


def _contaminated(data_dir: Path, benchmark: str) -> set[str]:
    path = data_dir / benchmark / "contaminated_prompts.jsonl"
    return {_normalise(json.loads(line)["eval_prompt"]) for line in _lines(path)}


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        yield from (line for line in handle if line.strip())


def _user(text: str) -> tuple[Message, ...]:
    return ({"role": "user", "content": text},)


def _correctness_rows(path: Path, benchmark: str, category: str) -> Iterator[Item]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield Item(
                benchmark=benchmark,
                question=row["prompt"],
                messages=_user(row["prompt"]),
                strong=float(row[STRONG] == "True"),
                weak=float(row[WEAK] == "True"),
                category=category,
            )


def _without(items: Iterator[Item], contaminated: set[str]) -> list[Item]:
    return [item for item in items if _normalise(item.question) not in contaminated]


def _gsm8k(data_dir: Path) -> list[Item]:
    rows = _correctness_rows(data_dir / "gsm8k" / "gsm8k_responses.csv", "gsm8k", "math")
    return _without(rows, _contaminated(data_dir, "gsm8k"))


def _mmlu(data_dir: Path) -> list[Item]:
    contaminated = _contaminated(data_dir, "mmlu")
    items: list[Item] = []
    for path in sorted((data_dir / "mmlu" / "responses").glob("mmlu_*.csv")):
        domain = path.stem.removeprefix("mmlu_")
        items.extend(_without(_correctness_rows(path, "mmlu", domain), contaminated))
    return items


def _mt_bench(data_dir: Path) -> list[Item]:
    contaminated = _contaminated(data_dir, "mt_bench")
    grades: dict[tuple[int, str, int], float] = {}
    for line in _lines(data_dir / "mt_bench" / "judgements.jsonl"):
        record = json.loads(line)
        grades[(record["question_id"], record["model"], record["turn"])] = float(record["score"])
    items: list[Item] = []
    for line in _lines(data_dir / "mt_bench" / "question.jsonl"):
        question = json.loads(line)
        first = question["turns"][0]
        if _normalise(first) in contaminated:
            continue
        for turn in (1, 2):
            # The earlier answer is not in the data; the router reads user turns only anyway.
            messages = _user(first)
            if turn == 2:
                messages += ({"role": "assistant", "content": ""}, *_user(question["turns"][1]))
            key = question["question_id"]
            items.append(
                Item(
                    benchmark="mt_bench",
                    question=first,
                    messages=messages,
                    strong=grades[(key, STRONG, turn)],
                    weak=grades[(key, WEAK, turn)],
                    category=question["category"],
                )
            )
    return items


def _alpaca_eval(data_dir: Path) -> list[Item]:
    """Each instruction's outcome is the judges' mean preference p for the strong answer: the
    strong model scores p and the weak one 1 - p, so the gain of routing it strong is 2p - 1
    (a tie gains nothing) and "strong better" means p > 0.5."""
    items: list[Item] = []
    for line in _lines(data_dir / "alpaca_eval" / "mixtral_vs_gpt4_turbo.jsonl"):
        record = json.loads(line)
        verdicts = list(record["p_strong_wins"].values())
        preference = sum(verdicts) / len(verdicts)
        items.append(
            Item(
                benchmark="alpaca_eval",
                question=record["instruction"],
                messages=_user(record["instruction"]),
                strong=preference,
                weak=1.0 - preference,
                category=record["dataset"],
            )
        )
    return items
