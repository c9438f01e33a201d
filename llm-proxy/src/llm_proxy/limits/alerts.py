"""Budget threshold alerts: to the log, the metrics hooks and a webhook, never in the way.

The store reports each crossing once per counter, threshold and period (deduplicated in
Redis with SET NX, or in process); the webhook POST runs in the background so no
request waits for it.
"""

from __future__ import annotations

import logging
from typing import Any

from llm_proxy.cost import NANO_PER_USD
from llm_proxy.limits.counters import Crossing, Dimension
from llm_proxy.limits.metrics import LimitsMetrics
from llm_proxy.webhooks import Webhooks

log = logging.getLogger("llm_proxy.limits")


def alert_payload(crossing: Crossing) -> dict[str, Any]:
    counter = crossing.counter
    scale = NANO_PER_USD if counter.dimension is Dimension.NANO_USD else 1
    unit = "usd" if counter.dimension is Dimension.NANO_USD else "tokens"
    scope, _, owner_id = counter.owner.partition(":")
    return {
        "type": "budget.threshold_reached",
        "scope": scope,
        "id": owner_id,
        "unit": unit,
        "period": counter.key.rsplit(":", 1)[-1],
        "period_end_ms": counter.period_end_ms,
        "threshold": crossing.threshold,
        "used": crossing.used / scale,
        "limit": counter.limit / scale,
    }


class AlertSink:
    def __init__(self, metrics: LimitsMetrics) -> None:
        self._metrics = metrics
        self._webhooks = Webhooks("budget alert")

    def fire(self, crossings: list[Crossing], webhook_url: str | None) -> None:
        for crossing in crossings:
            payload = alert_payload(crossing)
            self._metrics.alerts += 1
            log.warning(
                "budget alert: %s %s at %.0f%% (%s of %s %s, %s)",
                payload["scope"],
                payload["id"],
                crossing.threshold * 100,
                payload["used"],
                payload["limit"],
                payload["unit"],
                payload["period"],
            )
            for hook in self._metrics.on_alert:
                hook(crossing)
            if webhook_url:
                self._webhooks.send(webhook_url, payload)

    async def close(self) -> None:
        await self._webhooks.close()
