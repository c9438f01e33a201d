"""The gateway's long-lived state: config, deployments, transports, the master key, and
the request path composed from them.

One instance lives on the app (`app.state.gateway`); nothing is kept in module globals.
It sits above the pipeline: it builds the `RequestPath` and hands each stage only the
parts it uses.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

from llm_proxy.cache import ResponseCache
from llm_proxy.config import GatewayConfig, load_config
from llm_proxy.config.document import document_of, with_document
from llm_proxy.config.secrets import resolve_setting
from llm_proxy.guard.classifier import Classifier
from llm_proxy.kong.follower import KongFollower
from llm_proxy.limits.enforcer import Enforcer
from llm_proxy.limits.leases import delivered
from llm_proxy.oidc.login import sso_login
from llm_proxy.optimizer.service import OptimizerService
from llm_proxy.optimizer.stage import OptimizerStage
from llm_proxy.pipeline.auto_route import RouterClient
from llm_proxy.pipeline.guard import GuardStage, classifier_calls
from llm_proxy.pipeline.request_path import RequestPath
from llm_proxy.pipeline.seams import Seams
from llm_proxy.pipeline.template import TemplateStage
from llm_proxy.pipeline.tokens import count_text
from llm_proxy.spend import SpendLog
from llm_proxy.store.config_sync import ConfigFollower
from llm_proxy.store.database import Database
from llm_proxy.store.directory import Directory
from llm_proxy.store.models import ConfigVersion
from llm_proxy.store.provider_credentials import credential_ids, open_credentials
from llm_proxy.store.responses import ResponseStore
from llm_proxy.store.route_labels import LabelStore
from llm_proxy.store.signals import Invalidations
from llm_proxy.store.vault import Vault
from llm_proxy.telemetry.observer import Telemetry
from llm_proxy.templates.assignments import Assignments
from llm_proxy.templates.catalog import PromptCatalog
from llm_proxy.upstream.dispatcher import Dispatcher
from llm_proxy.upstream.probes import probe_forever
from llm_proxy.upstream.registry import Registry, RegistryError
from llm_proxy.upstream.transports.passthrough import PassthroughTransport
from llm_proxy.upstream.transports.translated import TranslatedTransport
from llm_proxy.webhooks import Webhooks

log = logging.getLogger("llm_proxy")


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        master_key: str,
        config_path: Path | None,
        *,
        workers: int = 1,
        seams: Seams | None = None,
    ) -> None:
        self.registry = Registry(config)
        # Worker processes serving this port, each with a Gateway of its own (processes.py).
        self.workers = workers
        self.master_key = master_key
        self.config_path = config_path
        # The file's config: its process sections hold for the life of the process.
        self.file_config = config
        # Keys, teams, budgets and the spend log; reloads do not move them to another database.
        self.database = Database(config.database.url, config.database.pool_size)
        self.directory = Directory(self.database, config)
        # The dashboard's single sign-on (auth.sso), if configured.
        self.sso = sso_login(config.auth.sso, master_key)
        self.spend = SpendLog(self.database, config.spend)
        self.responses = ResponseStore(self.database, config.responses.store_ttl_s)
        # Route labels and the router inputs kept for feedback (auto groups' learning).
        self.labels = LabelStore(self.database)
        self.enforcer = Enforcer(config)
        self.passthrough = PassthroughTransport()
        self.telemetry = Telemetry(
            config.observability,
            secrets=self.secrets,
            registry=lambda: self.registry,
            spooled=lambda: self.spend.spooled,
            queues=lambda: self.dispatcher.admission.depth(),
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
        # The guard's classifier check calls models through this gateway's request path.
        self.classifier = Classifier()
        self.guard_alerts = Webhooks("guardrail alert")
        self.kong: KongFollower | None = None
        if config.kong.admin_url is not None:
            self.kong = KongFollower(self.database, config.kong)
            self.directory.on_local_change(self.kong.changed)
        self.follower: ConfigFollower | None = None
        if config.config.mode == "database":
            signals = Invalidations(config.redis.url, config.redis.prefix, channel="config")
            self.follower = ConfigFollower(
                self.database, signals, config.config.poll_interval_s, self._apply_version
            )
        self.pipeline = RequestPath(
            master_key=master_key,
            directory=self.directory,
            registry=lambda: self.registry,
            enforcer=self.enforcer,
            cache=self.cache,
            router=self.router,
            dispatcher=self.dispatcher,
            telemetry=self.telemetry,
            spend=self.spend,
            labels=self.labels,
            seams=seams or self._seams(),
        )
        self.classifier.asks_through(classifier_calls(self.pipeline.ask))

    def _seams(self) -> Seams:
        """The stages plugged into the request path: prompt templates, guardrails and the
        optimizer (each costs next to nothing while unused)."""
        return Seams(
            templates=(TemplateStage(self.prompts, self.assignments),),
            guards=(
                GuardStage(
                    lambda: self.config.guardrails,
                    self.classifier,
                    self.guard_alerts,
                    self._prompt_keys_unresolved,
                ),
            ),
            optimizer=OptimizerStage(lambda: self.config, self.optimizer),
        )

    def _prompt_keys_unresolved(self, count: int) -> None:
        if self.telemetry.metrics is not None:
            self.telemetry.metrics.prompt_log_keys_unresolved.set(count)

    @property
    def config(self) -> GatewayConfig:
        return self.registry.config

    def secrets(self) -> list[str]:
        """Values no log line may show: the master key, the providers' keys, the scrape token."""
        keys = [d.api_key for d in self.registry.deployments.values() if d.api_key]
        scrape = [self.metrics_token] if self.metrics_token else []
        return [self.master_key, *keys, *scrape]

    def vault(self) -> Vault | None:
        """Seals provider keys given to the admin API; None (no secret key): refused.

        Resolved at each use (admin writes and config applies, never a request), so a
        key file put in place later, or a replaced one, counts at once.
        """
        return Vault.from_reference(self.file_config.config.secret_key_ref)

    @property
    def config_version(self) -> int | None:
        """The version running (database mode), None when the file is the config."""
        return self.follower.applied if self.follower else None

    async def reload(self) -> Registry:
        """Re-read the config (the file, or the newest version); on any problem keep the
        running config and raise."""
        if self.follower is not None:
            await self.follower.catch_up(again=True)
            return self.registry
        if self.config_path is None:
            raise RuntimeError("this gateway was started without a config file to reload")
        return await self.apply(load_config(self.config_path))

    async def check(self, config: GatewayConfig, fresh: Mapping[str, str]) -> None:
        """Raise RegistryError if `config`'s backends cannot be built (keys unresolvable).

        `fresh`: keys being stored in the caller's uncommitted transaction (id -> key).
        """
        Registry(config, stored={**await self._stored_keys(config, skip=fresh), **fresh})

    async def apply(self, config: GatewayConfig) -> Registry:
        """Swap in `config` (the reload path): requests in flight keep their registry."""
        async with self._reload_lock:
            stored = await self._stored_keys(config)
            registry = Registry(config, previous=self.registry, stored=stored)
            await _warm_tokenizer(config, registry)
            self.registry = registry
            self.cache.prepare(config.cache)
            self.responses.ttl_s = config.responses.store_ttl_s
            self.enforcer.configure(config.limits)
            self.telemetry.reconfigure(config.observability)
            self.metrics_token = _metrics_token(config)
            self.start_probes()
            log.info("config applied: %d backends", len(config.backends))
            return registry

    async def _apply_version(self, row: ConfigVersion) -> None:
        await self.apply(with_document(self.file_config, row.document, f"version {row.version}"))

    async def _stored_keys(
        self, config: GatewayConfig, skip: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        ids = credential_ids(b.api_key_ref for b in config.backends) - set(skip or ())
        if not ids:
            return {}
        async with self.database.session() as session:
            opened, problems = await open_credentials(session, self.vault(), ids)
        if problems:
            raise RegistryError(problems)
        return opened

    async def open(self) -> None:
        """Migrate the database (if configured to), then start signals and the spend writer."""
        if self.config.database.migrate_on_start:
            await self.database.upgrade()
        await self.directory.start()
        if self.follower is not None:
            source = str(self.config_path or "the embedded config")
            await self.follower.bootstrap(document_of(self.file_config), source)
            await self.follower.start()
        if self.kong is not None:
            self.kong.start()
        self.spend.start()
        # Answers a dead process delivered but never settled: their leases settle now.
        await self.enforcer.settle_delivered([delivered(row) for row in self.spend.adopted()])
        self.enforcer.start()

    def warm_translation(self) -> None:
        """Import LiteLLM now, in a worker thread, if some backend needs it for every request
        (not OpenAI-compatible); otherwise the first request that needs it starts that."""
        if any(not d.forwards_openai for d in self.registry.deployments.values()):
            self.translated.warm()

    async def warm_tokenizer(self) -> None:
        """Load the tokenizer's table now if the config's limits or routing count tokens."""
        await _warm_tokenizer(self.config, self.registry)

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
        # Requests in flight have settled by now (shadow runs are abandoned, and log their
        # calls): drain their records, then disconnect.
        await self.pipeline.shadow.close()
        await self.spend.close()
        await self.labels.close()
        if self.follower is not None:
            await self.follower.close()
        if self.kong is not None:
            await self.kong.close()
        await self.responses.close()
        await self.directory.close()
        if self.sso is not None:
            await self.sso.close()
        await self.assignments.close()
        await self.guard_alerts.close()
        if self.pipeline.seams.optimizer is not None:
            await self.pipeline.seams.optimizer.close()
        await self.database.close()
        await self.dispatcher.fast.close()
        await self.dispatcher.translated.close()
        await self.cache.close()
        await self.enforcer.close()
        self.telemetry.close()


def _metrics_token(config: GatewayConfig) -> str | None:
    reference = config.observability.metrics_token_ref
    return resolve_setting(reference, "observability.metrics_token_ref") if reference else None


async def _warm_tokenizer(config: GatewayConfig, registry: Registry) -> None:
    """A rate rule on tokens, or a group that picks its deployment by tokens, counts every
    request's prompt: the table (~0.5 s to load) is loaded before the config serves, in a
    thread, rather than by its first request, which would hold the event loop and every
    request in flight that long. A key's own token limits are known only when it is first
    used: the first request of such a key loads it, when nothing else has."""
    rules = config.limits.rules if config.limits.enabled else []
    if any(r.tpm or r.input_tpm or r.tpd for r in rules) or registry.weighs_tokens(
        tuple(registry.groups)
    ):
        await asyncio.to_thread(count_text, "warm")
