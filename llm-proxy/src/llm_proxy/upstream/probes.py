"""Optional active health probes: find out a deployment is back before a client does.

A probe is `GET <endpoint>/models`, which OpenAI-format servers and Anthropic both answer
without spending tokens. A failed probe (an error, or no answer within `timeout_s`: a
hung server accepts the connection and says nothing) counts as a failure, and
`unhealthy_after` of them in a row open the circuit: the deployment is out of rotation;
a good probe of an open circuit moves it to half-open, so the next real request is the
one that closes it. Deployments behind LiteLLM translation are not probed: the only
probe LiteLLM offers is a paid completion. With N worker processes on one port, each
probes every N intervals from a random phase: together they probe at one process's rate.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

import aiohttp

from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.registry import Registry

log = logging.getLogger("llm_proxy.probes")


async def probe_forever(
    current: Callable[[], Registry], session: aiohttp.ClientSession, *, share: int = 1
) -> None:
    """Probe every deployment every `share` intervals (`share`: the processes probing)."""
    if share > 1:
        interval = current().config.routing.health_probes.interval_s
        await asyncio.sleep(random.uniform(0, share * interval))
    while True:
        registry = current()
        settings = registry.config.routing.health_probes
        await asyncio.gather(
            *(
                probe(d, session, settings.timeout_s, settings.unhealthy_after)
                for d in registry.deployments.values()
            )
        )
        await asyncio.sleep(settings.interval_s * share)


async def probe(
    deployment: Deployment,
    session: aiohttp.ClientSession,
    timeout_s: float,
    unhealthy_after: int = 1,
) -> None:
    if not (deployment.forwards_openai or deployment.forwards_anthropic):
        return
    path = "/v1/models" if deployment.forwards_anthropic else "/models"
    headers = (
        {"x-api-key": deployment.api_key or "", "anthropic-version": "2023-06-01"}
        if deployment.forwards_anthropic
        else {"authorization": f"Bearer {deployment.api_key}"}
        if deployment.api_key
        else {}
    )
    try:
        async with session.get(
            deployment.base_url + path,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            healthy = response.status < 500
    except (aiohttp.ClientError, TimeoutError):
        healthy = False
    if healthy:
        deployment.health.probe_succeeded()
    else:
        log.warning("health probe of %s failed", deployment.name)
        deployment.health.probe_failed("health probe failed", unhealthy_after)
