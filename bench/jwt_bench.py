"""What a signed token costs `identify`: `.venv/bin/python -m bench.jwt_bench`.

The request path's own `identify` (pipeline.identify), on a Directory over a scratch SQLite
database holding one team, with `auth.jwt` trusting one issuer whose JWKS (an RSA 2048 and
a P-256 key) is a local file, read once before timing: every measured call finds its key
in memory, so no I/O is timed. Three callers, each after a warm-up:

- `virtual key`: a team's key, its grant cached (the baseline: what every key pays);
- `token, seen before`: one token sent again and again, as an SDK does with its token
  (the verified-token cache answers, the deny-list is still checked);
- `token, new each request` (RS256, then ES256): a fresh token per call (made before the
  timing starts), so every call verifies a signature and maps claims.

Reports each caller's mean CPU per call (`process_time`) and p50/p99 wall time on one thread
(CPU-bound: wall is CPU here), and what a token adds over a key. The bar (issue 21): on a
cached key, verification adds ≤ 50 µs CPU per request. Run it on a quiet machine; the
figures scale with the load average printed beside them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from llm_proxy.config.models import GatewayConfig
from llm_proxy.identity import Identity
from llm_proxy.pipeline.identify import identify
from llm_proxy.store.database import Database
from llm_proxy.store.directory import Directory
from llm_proxy.store.keys import create_key
from llm_proxy.store.models import Team

ISSUER = "https://idp.bench.test"
AUDIENCE = "llm-gateway"
MASTER = "sk-bench-master"


class Signer:
    def __init__(self, alg: str) -> None:
        self.alg, self.kid = alg, f"{alg.lower()}-bench"
        if alg == "ES256":
            self.key: Any = ec.generate_private_key(ec.SECP256R1())
            public = ECAlgorithm.to_jwk(self.key.public_key())
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = RSAAlgorithm.to_jwk(self.key.public_key())
        self.jwk = {**json.loads(public), "kid": self.kid, "alg": alg, "use": "sig"}

    def token(self) -> str:
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": f"user-{uuid.uuid4().hex[:8]}",
            "groups": ["bench-team"],
            "models": ["gpt-4o-mini", "claude-haiku"],
            "iat": now,
            "exp": now + 3600,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.key, algorithm=self.alg, headers={"kid": self.kid})


def config(folder: Path, jwks: Path) -> GatewayConfig:
    return GatewayConfig.model_validate(
        {
            "backends": [
                {
                    "name": "b",
                    "provider": "simulator",
                    "model": "m",
                    "endpoint": "http://127.0.0.1:9/v1",
                }
            ],
            "database": {"url": f"sqlite+aiosqlite:///{folder / 'bench.db'}"},
            "auth": {
                "jwt": {
                    "issuers": [
                        {
                            "issuer": ISSUER,
                            "jwks_file": str(jwks),
                            "audiences": [AUDIENCE],
                            "claims": {"team_id": "$.groups[0]", "allowed_models": "$.models"},
                        }
                    ]
                }
            },
        }
    )


async def seed(database: Database) -> str:
    async with database.session() as session:
        session.add(Team(id="team_bench", name="bench-team"))
        await session.flush()
        _, secret = create_key(session, {"name": "bench", "team_id": "team_bench"})
        await session.commit()
    return secret.plaintext


async def timed(call: Callable[[int], Awaitable[Identity]], iterations: int) -> dict[str, float]:
    warm = min(1000, iterations)
    for i in range(warm):  # warm-up; the measured calls get the indices after these
        await call(i)
    samples = []
    cpu_start = time.process_time()
    for i in range(warm, warm + iterations):
        started = time.perf_counter()
        await call(i)
        samples.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu_start
    samples.sort()
    return {
        "cpu_us": cpu / iterations * 1e6,
        "p50_us": statistics.median(samples) * 1e6,
        "p99_us": samples[int(len(samples) * 0.99)] * 1e6,
    }


async def measure(iterations: int) -> dict[str, dict[str, float]]:
    signers = {alg: Signer(alg) for alg in ("RS256", "ES256")}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        jwks = folder / "jwks.json"
        jwks.write_text(json.dumps({"keys": [s.jwk for s in signers.values()]}))
        settings = config(folder, jwks)
        database = Database(settings.database.url, 1)
        await database.upgrade()
        key = await seed(database)
        directory = Directory(database, settings)

        def caller(credential: str) -> dict[str, str]:
            return {"authorization": f"Bearer {credential}"}

        key_headers = caller(key)
        results = {
            "virtual key": await timed(
                lambda _: identify(key_headers, MASTER, directory), iterations
            )
        }
        seen = caller(signers["RS256"].token())
        results["token, seen before"] = await timed(
            lambda _: identify(seen, MASTER, directory), iterations
        )
        for alg, signer in signers.items():
            warm = min(1000, iterations)
            fresh = [caller(signer.token()) for _ in range(iterations + warm)]
            results[f"token, new each request ({alg})"] = await timed(
                lambda i, fresh=fresh: identify(fresh[i], MASTER, directory), iterations
            )
        await directory.close()
        await database.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=5000)
    results = asyncio.run(measure(parser.parse_args().iterations))
    baseline = results["virtual key"]["cpu_us"]
    print(f"identify, mean CPU per call (load average {os.getloadavg()[0]:.2f}):")
    for name, figures in results.items():
        added = figures["cpu_us"] - baseline
        verdict = ""
        if name != "virtual key":
            within = "within" if added <= 50 else "over"
            verdict = f"  adds {added:+.1f} µs over a key: {within} the 50 µs bar"
        print(
            f"  {name:32} {figures['cpu_us']:7.1f} µs CPU, p50 {figures['p50_us']:7.1f} µs, "
            f"p99 {figures['p99_us']:7.1f} µs{verdict}"
        )


if __name__ == "__main__":
    main()
