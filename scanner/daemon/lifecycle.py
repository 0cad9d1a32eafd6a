"""The daemon assembled from its configuration: store, metrics, alerts, scheduler, HTTP.

Start-up order is the readiness contract: open and migrate the state (a file that cannot be
used stops the daemon with one line), bind the HTTP port at once (liveness answers while a large
state loads), read the state and restore the last findings, names, OU paths and per-account
times into the metrics in worker threads, and only then report ready, so the first scrape of a
ready daemon sees the last known state with the same labels as before the restart; then the
alert loop (it delivers what a previous process left in the outbox) and the scheduler (first
scan now).

Shutdown (:meth:`Daemon.stop`, on SIGTERM/SIGINT): the scheduler stops starting work and
abandons a collection in progress but lets a store write finish; the alert loop ends after its
current request; the HTTP server closes; the store closes last. Each step is bounded, so the
process exits within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from types import TracebackType

import structlog

from scanner.daemon.alerts import AlertDispatcher
from scanner.daemon.config import Config
from scanner.daemon.http import Server, make_app, start
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Collect, Service, default_collect
from scanner.daemon.sharding import Shard, resolve
from scanner.daemon.state import StateStore

log = structlog.get_logger("scanner.daemon")

SHUTDOWN_GRACE = 5.0  # seconds each background loop gets to finish after stop


def shard_of_config(config: Config, environ: Mapping[str, str] | None = None) -> Shard:
    sharding = config.sharding
    return resolve(sharding.shard, sharding.total_shards, sharding.pod_name_env, environ)


class Daemon:
    """``async with Daemon(config) as daemon: await daemon.wait()``; or start()/stop()."""

    def __init__(
        self,
        config: Config,
        *,
        environ: Mapping[str, str] | None = None,
        collect_fn: Collect = default_collect,
    ) -> None:
        self.config = config
        self.environ = environ
        self.collect_fn = collect_fn
        self.stopping = asyncio.Event()
        self.shard = shard_of_config(config, environ)
        self.store: StateStore | None = None
        self.server: Server | None = None
        self.service: Service | None = None
        self.dispatcher: AlertDispatcher | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        assert self.server is not None, "not started"
        return self.server.url

    async def start(self) -> None:
        config = self.config
        self.store = store = await asyncio.to_thread(StateStore.connect, config.state.path)
        metrics = Metrics(self.shard)
        self.dispatcher = dispatcher = AlertDispatcher(
            store,
            config.alerts,
            environ=self.environ,
            alertmanager_validity=3 * config.schedule.interval,
        )
        metrics.state.alerts_pending = store.pending_counts
        metrics.state.alert_deliveries = lambda: dispatcher.totals
        self.service = service = Service(
            config,
            self.shard,
            metrics,
            store=store,
            dispatcher=dispatcher,
            collect_fn=self.collect_fn,
        )
        service.health.restoring = True  # alive, not ready, from the port's first moment
        host, port = config.http.address
        try:
            self.server = await start(
                make_app(service, lambda: config.http.read_token(self.environ)), host, port
            )
        except OSError:
            store.close()
            raise
        log.info(
            "daemon_started",
            listen=self.server.url,
            shard=self.shard.ordinal,
            total_shards=self.shard.total,
            state=config.state.path,
            targets=[t.name for t in config.alerts.targets],
        )
        try:
            await asyncio.to_thread(store.load)
            await asyncio.to_thread(service.restore)
        except BaseException:
            await self.server.close()
            store.close()
            raise
        self._tasks = [
            asyncio.create_task(dispatcher.run(self.stopping)),
            asyncio.create_task(service.run(self.stopping)),
        ]

    async def wait(self) -> None:
        """Until :meth:`stop` is called (or a background loop dies)."""
        stopped = asyncio.ensure_future(self.stopping.wait())
        try:
            await asyncio.wait([stopped, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()

    async def stop(self) -> None:
        self.stopping.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, SHUTDOWN_GRACE)
            except TimeoutError:
                log.warning("shutdown_timeout", task=task.get_coro().__qualname__)  # type: ignore[union-attr]
            except Exception as err:  # already logged where it happened; do not mask others
                log.error("loop_failed", error=repr(err))
        self._tasks = []
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        if self.server is not None:
            await self.server.close()
        if self.store is not None:
            with contextlib.suppress(Exception):
                self.store.close()
        log.info("daemon_stopped")

    async def __aenter__(self) -> Daemon:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


__all__ = ["Daemon", "shard_of_config"]
