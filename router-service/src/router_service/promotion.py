"""Whether a trained checkpoint may replace the live one: only when it routes the
deployment's held-out labels better (a higher APGR) than the live one on the same labels.

The candidate is named by its file name in the checkpoints directory, never by a path: a
name with a separator, `..`, or a link that leads out of the directory is refused, as is a
file that is not a checkpoint our router can serve, or one without its evaluation. "The
same labels": the evaluation beside the candidate scored the baseline live when it trained;
if another checkpoint went live since, its own record must have been measured on the same
held-out set, or the candidate has to be trained again.
"""

from __future__ import annotations

import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from router_service import checkpoint as checkpoint_io
from router_service import checkpoint_evaluation as evaluation_io
from router_service.checkpoint_evaluation import Evaluation, EvaluationError, Figures
from router_service.live_checkpoint import LiveRecord, now, read_record, write_record

_MAX_NAME = 200


class PromotionError(Exception):
    """A refused promotion; `status` is the HTTP status, `figures` what was compared."""

    def __init__(
        self, message: str, status: int, code: str, figures: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.figures = figures or {}


@dataclass(frozen=True)
class Candidate:
    path: Path
    checkpoint: checkpoint_io.Checkpoint
    sha256: str
    evaluation: Evaluation


@dataclass(frozen=True)
class Decision:
    candidate: Candidate
    current: Figures
    record: LiveRecord

    def as_json(self) -> dict[str, Any]:
        return {
            "promoted": True,
            "checkpoint": self.record.checkpoint,
            "sha256": self.record.sha256,
            "held_out_labels": self.candidate.evaluation.held_out_labels,
            "candidate": asdict(self.candidate.evaluation.candidate.figures),
            "current": asdict(self.current),
        }


def candidate_path(directory: Path, name: object) -> Path:
    """The named file of the directory, or a 4xx PromotionError."""
    if (
        not isinstance(name, str)
        or not name.endswith(".npz")
        or len(name) > _MAX_NAME
        or "\0" in name
        or Path(name).name != name
        or "\\" in name
    ):
        raise PromotionError(
            "checkpoint must be the file name of a .npz in the checkpoints directory",
            400,
            "invalid_checkpoint",
        )
    root = directory.resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise PromotionError(f"{name} leads outside the checkpoints directory", 400, "outside")
    if not path.is_file():
        raise PromotionError(f"no checkpoint {name} in the checkpoints directory", 404, "not_found")
    return path


def load_candidate(path: Path) -> Candidate:
    try:
        checkpoint = checkpoint_io.load(path)
        checkpoint_io.check_shape(checkpoint)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
        message = f"{path.name} is not a checkpoint of our router: {error}"
        raise PromotionError(message, 400, "invalid_checkpoint") from error
    try:
        evaluation = evaluation_io.read(path)
    except EvaluationError as error:
        raise PromotionError(str(error), 400, "no_evaluation") from error
    sha256 = evaluation_io.sha256_of(path)
    if evaluation.candidate.sha256 != sha256:
        message = f"{evaluation_io.evaluation_path(path).name} evaluates another file"
        raise PromotionError(message, 400, "evaluation_mismatch")
    return Candidate(path, checkpoint, sha256, evaluation)


def decide(candidate: Candidate, live_sha256: str, live: LiveRecord | None) -> Decision:
    """The promotion, or a PromotionError (409) saying why not, with both figures."""
    evaluation = candidate.evaluation
    if candidate.sha256 == live_sha256:
        raise PromotionError(f"{candidate.path.name} is already live", 409, "already_live")
    current = _current_figures(evaluation, live_sha256, live)
    ours = evaluation.candidate.figures
    figures = {"candidate": asdict(ours), "current": asdict(current)}
    if not ours.apgr > current.apgr:
        message = (
            f"{candidate.path.name} does not beat the live checkpoint on the same "
            f"{evaluation.held_out_labels} held-out labels: APGR {ours.apgr:.4f} vs "
            f"{current.apgr:.4f} (CPT(50%) {ours.cpt50:.4f} vs {current.cpt50:.4f})"
        )
        raise PromotionError(message, 409, "not_better", figures)
    record = LiveRecord(
        checkpoint=candidate.path.name,
        sha256=candidate.sha256,
        promoted_at=now(),
        apgr=ours.apgr,
        cpt50=ours.cpt50,
        held_out=evaluation.held_out,
    )
    return Decision(candidate, current, record)


def _current_figures(evaluation: Evaluation, live_sha256: str, live: LiveRecord | None) -> Figures:
    if evaluation.baseline.sha256 == live_sha256:
        return evaluation.baseline.figures
    if live is not None and live.sha256 == live_sha256 and live.held_out == evaluation.held_out:
        return Figures(apgr=live.apgr, cpt50=live.cpt50)
    message = (
        f"the candidate was measured against {evaluation.baseline.checkpoint}, and the live "
        "checkpoint has changed since and was not measured on the same held-out labels: "
        "train again"
    )
    raise PromotionError(message, 409, "stale_evaluation")


def promote(directory: Path, name: object, live_sha256: str) -> Decision:
    """Check the named candidate, decide, and record it as live when it wins."""
    candidate = load_candidate(candidate_path(directory, name))
    decision = decide(candidate, live_sha256, read_record(directory))
    write_record(directory, decision.record)
    return decision
