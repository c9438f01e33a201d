"""What routing policies add to a request: `.venv/bin/python -m bench.policy_bench`.

The same request (a key of a team under an `eu` residency policy, `metadata.region` and
`metadata.priority` set, priority and fair share on) goes through the steps the request path
takes to choose a deployment, once without policies and once with them:

- without: the served groups, `plan_route`, `Registry.pick`;
- with: residency (`ResidencyRules.resolve`), the priority class and fair-share ticket
  (`ticket_for`), the served groups in the request's regions, `plan_route`, and admission's
  path when the group is not saturated (`Admission.acquire`: the team's fair-queuing tag and a
  pick among the deployments in the request's regions, under the class's headroom).

The config has 12 deployments in 3 regions, 40 residency policies over 200 teams and 400 keys,
400 key priority rules. Reports the mean CPU (`process_time`) per request of each path and
their difference: the policy checks' cost. The bar: ≤ 20 µs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from llm_proxy.config.models import GatewayConfig
from llm_proxy.identity import Identity
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.priority import ticket_for
from llm_proxy.pipeline.residency import ResidencyRules
from llm_proxy.pipeline.route import plan_route
from llm_proxy.upstream.admission import Admission
from llm_proxy.upstream.registry import Registry

REGIONS = ("eu", "us", "ap")
TEAM = "team_0007"
KEY = "key_0014"


def config(policies: bool) -> GatewayConfig:
    backends = [
        {
            "name": f"{model}-{region}-{i}",
            "provider": "openai_compatible",
            "endpoint": f"http://127.0.0.1:1/{region}",
            "model": model,
            "region": region,
            "max_tpm": 1_000_000,
            "max_rpm": 10_000,
        }
        for model in ("gpt-4o-mini", "gpt-4o")
        for region in REGIONS
        for i in range(2)
    ]
    document: dict[str, Any] = {
        "backends": backends,
        "routing": {"fallbacks": {"gpt-4o": ["gpt-4o-mini"]}},
    }
    if policies:
        document["policies"] = {
            "residency": {
                f"policy-{p}": {
                    "regions": [REGIONS[p % 3]],
                    "teams": [f"team_{t:04d}" for t in range(p * 5, p * 5 + 5)],
                    "keys": [f"key_{k:04d}" for k in range(p * 10, p * 10 + 10)],
                }
                for p in range(40)
            },
            "priority": {
                "enabled": True,
                "keys": {f"key_{k:04d}": {"default": "normal", "cap": "high"} for k in range(400)},
            },
            "fair_share": {"enabled": True, "weights": {f"team_{t:04d}": 1 for t in range(200)}},
        }
    return GatewayConfig.model_validate(document)


def request() -> RequestContext:
    body = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": "Where is my order?"}],
        "max_tokens": 64,
        "metadata": {"region": "us", "priority": "high"},
    }
    ctx = RequestContext(request_id="r", api="chat", body=body, headers={})
    ctx.identity = Identity(key_id=KEY, team_id=TEAM)
    ctx.requested_model = "gpt-4o"
    return ctx


async def plain(registry: Registry, iterations: int) -> float:
    started = time.process_time()
    for _ in range(iterations):
        ctx = request()
        ctx.plan = plan_route(ctx, registry.config, registry.served())
        registry.pick(ctx.plan[0], None, (), ctx.identity.caller)
    return (time.process_time() - started) / iterations


async def with_policies(registry: Registry, iterations: int) -> float:
    rules, admission = ResidencyRules(), Admission()
    policies = registry.config.policies
    started = time.process_time()
    for _ in range(iterations):
        ctx = request()
        ctx.residency = rules.resolve(ctx, policies)
        ctx.ticket = ticket_for(ctx, policies)
        ctx.plan = plan_route(ctx, registry.config, registry.served(ctx.regions))
        assert ctx.ticket is not None
        deployment = await admission.acquire(
            registry, ctx.plan[0], ctx.ticket, 80, None, (), ctx.identity.caller, ctx.regions
        )
        assert deployment is not None and deployment.backend.region == "us"
    return (time.process_time() - started) / iterations


async def measure(iterations: int) -> tuple[float, float]:
    without, within = Registry(config(False)), Registry(config(True))
    await plain(without, 2000)  # warm-up
    await with_policies(within, 2000)
    base = min([await plain(without, iterations) for _ in range(3)])
    policed = min([await with_policies(within, iterations) for _ in range(3)])
    return base, policed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=20000)
    base, policed = asyncio.run(measure(parser.parse_args().iterations))
    print(
        f"choosing a deployment: {base * 1e6:.1f} µs CPU without policies, "
        f"{policed * 1e6:.1f} µs with residency + priority + fair share: the policy checks "
        f"add {(policed - base) * 1e6:.1f} µs per request (bar: ≤ 20 µs); best of 3 runs"
    )


if __name__ == "__main__":
    main()
