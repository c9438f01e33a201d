"""The gateway's long-lived state: config, deployments, transports, the master key.

One instance lives on the app (`app.state.gateway`); nothing is kept in module globals.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from llm_proxy.cache import ResponseCache
from llm_proxy.config import GatewayConfig, load_config
from llm_proxy.config.secrets import resolve_setting
from llm_proxy.limits.enforcer import Enforcer
from llm_proxy.optimizer.service import OptimizerService
from llm_proxy.pipeline.auto_route import RouterClient
from llm_proxy.spend import SpendLog
from llm_proxy.store.database import Database
from llm_proxy.store.directory import Directory
from llm_proxy.telemetry.observer import Telemetry
from llm_proxy.templates.assignments import Assignments
from llm_proxy.templates.catalog import PromptCatalog
from llm_proxy.upstream.dispatcher import Dispatcher
from llm_proxy.upstream.probes import probe_forever
from llm_proxy.upstream.registry import Registry
from llm_proxy.upstream.transports.passthrough import PassthroughTransport
from llm_proxy.upstream.transports.translated import TranslatedTransport

log = logging.getLogger("llm_proxy")


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        master_key: str,
        config_path: Path | None,
        *,
        workers: int = 1,
    ) -> None:
        self.registry = Registry(config)
        # Worker processes serving this port, each with a Gateway of its own (processes.py).
        self.workers = workers
        self.master_key = master_key
        self.config_path = config_path
        # Keys, teams, budgets and the spend log; reloads do not move them to another database.
        self.database = Database(config.database.url, config.database.pool_size)
        self.directory = Directory(self.database, config)
        self.spend = SpendLog(self.database, config.spend)
        self.enforcer = Enforcer(config)
        self.passthrough = PassthroughTransport()
        self.telemetry = Telemetry(
            config.observability,
            secrets=self.secrets,
            registry=lambda: self.registry,
            spooled=lambda: self.spend.spooled,
        )
        if self.telemetry.metrics is not None:
            self.enforcer.metrics.on_alert.append(self.telemetry.metrics.budget_crossed)
        attempts = self.telemetry.tracing.attempts if self.telemetry.tracing else None
        self.translated = TranslatedTransport()
        self.dispatcher = Dispatcher(self.passthrough, self.translated, observe=attempts)
        self._probes: asyncio.Future[None] | None = None
        self.router = RouterClient(lambda: self.passthrough.session)
        self.optimizer = OptimizerService(lambda: self.passthrough.session)
        self.cache = ResponseCache(lambda: self.config)
        self.prompts = PromptCatalog(self.database, self.directory.signals)
        self.assignments = Assignments(config.redis.url, config.redis.prefix)
        self.draining = False
        self._reload_lock = asyncio.Lock()
        self.metrics_token = _metrics_token(config)

    @property
    def config(self) -> GatewayConfig:
        return self.registry.config

    def secrets(self) -> list[str]:
        """Values no log line may show: the master key, the providers' keys, the scrape token."""
        keys = [d.api_key for d in self.registry.deployments.values() if d.api_key]
        scrape = [self.metrics_token] if self.metrics_token else []
        return [self.master_key, *keys, *scrape]

    async def reload(self) -> Registry:
        """Re-read the config file; on any problem keep the running config and raise."""
        if self.config_path is None:
            raise RuntimeError("this gateway was started without a config file to reload")
        async with self._reload_lock:
            config = load_config(self.config_path)
            registry = Registry(config, previous=self.registry)
            self.registry = registry
            self.cache.prepare(config.cache)
            self.enforcer.configure(config.limits)
            self.telemetry.reconfigure(config.observability)
            self.metrics_token = _metrics_token(config)
            self.start_probes()
            log.info("config reloaded: %d backends", len(config.backends))
            return registry

    async def open(self) -> None:
        """Migrate the database (if configured to), then start signals and the spend writer."""
        if self.config.database.migrate_on_start:
            await self.database.upgrade()
        await self.directory.start()
        self.spend.start()

    def warm_translation(self) -> None:
        """Import LiteLLM now, in a worker thread, if some backend needs it for every request
        (not OpenAI-compatible); otherwise the first request that needs it starts that."""
        if any(not d.forwards_openai for d in self.registry.deployments.values()):
            self.translated.warm()

    def start_probes(self) -> None:
        """Active health probes, when the config asks for them; they follow reloads."""
        if self.config.routing.health_probes.enabled and self._probes is None:
            session = self.passthrough.session
            self._probes = asyncio.ensure_future(
                probe_forever(lambda: self.registry, session, share=self.workers)
            )

    async def close(self) -> None:
        if self._probes is not None:
            self._probes.cancel()
        # Requests in flight have settled by now: drain their records, then disconnect.
        await self.spend.close()
        await self.directory.close()
        await self.assignments.close()
        await self.database.close()
        await self.dispatcher.fast.close()
        await self.dispatcher.translated.close()
        await self.cache.close()
        await self.enforcer.close()
        self.telemetry.close()


def _metrics_token(config: GatewayConfig) -> str | None:
    reference = config.observability.metrics_token_ref
    return resolve_setting(reference, "observability.metrics_token_ref") if reference else None
