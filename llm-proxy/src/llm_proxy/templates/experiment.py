"""The outcomes of a prompt experiment, per variant (who gets which: `assignments`).

Read from the spend log and the feedback callers sent (`POST /v1/feedback`).
"""

from __future__ import annotations

import math
from typing import Any

from llm_proxy.store.models import Feedback, RequestLog
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

_Z95 = 1.959964


async def experiment_results(session: AsyncSession, prompt: str) -> list[dict[str, Any]]:
    """Per variant: requests, errors, mean latency, tokens, cost, feedback count and mean ± 95 %."""
    log = RequestLog
    usage = (
        select(
            log.prompt_variant,
            func.count(log.id),
            func.sum(case((log.status >= 400, 1), else_=0)),
            func.avg(log.latency_ms),
            func.sum(log.prompt_tokens + log.completion_tokens),
            func.sum(log.cost_usd),
        )
        .where(log.prompt_name == prompt, log.prompt_variant.is_not(None))
        .group_by(log.prompt_variant)
    )
    scores = (
        select(
            log.prompt_variant,
            func.count(Feedback.request_id),
            func.avg(Feedback.score),
            func.avg(Feedback.score * Feedback.score),
        )
        .join(Feedback, Feedback.request_id == log.request_id)
        .where(log.prompt_name == prompt, log.prompt_variant.is_not(None))
        .group_by(log.prompt_variant)
    )
    feedback = {row[0]: row[1:] for row in await session.execute(scores)}
    results = []
    for variant, requests, errors, latency, tokens, cost in await session.execute(usage):
        count, mean, mean_sq = feedback.get(variant, (0, None, None))
        results.append(
            {
                "variant": variant,
                "requests": int(requests),
                "errors": int(errors or 0),
                "mean_latency_ms": float(latency or 0.0),
                "tokens": int(tokens or 0),
                "cost_usd": float(cost or 0.0),
                "feedback_count": int(count),
                "feedback_mean": None if mean is None else float(mean),
                "feedback_ci95": _interval(int(count), mean, mean_sq),
            }
        )
    return sorted(results, key=lambda item: str(item["variant"]))


def _interval(n: int, mean: float | None, mean_sq: float | None) -> list[float] | None:
    """A normal-approximation 95 % interval of the mean score (sample variance)."""
    if n < 2 or mean is None or mean_sq is None:
        return None
    variance = max(0.0, (float(mean_sq) - float(mean) ** 2) * n / (n - 1))
    half = _Z95 * math.sqrt(variance / n)
    return [float(mean) - half, float(mean) + half]
