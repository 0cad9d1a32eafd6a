"""The daemon assembled from its configuration: store, metrics, alerts, scheduler, HTTP.

Start-up order is the readiness contract: open and migrate the state (a file that cannot be
used stops the daemon with one line), bind the HTTP port at once (a port in use stops it with
one line too), serve the application on a private Unix socket and start the front process that
owns the port and answers the probes (:mod:`.front`; liveness answers while a large state
loads), read the state and restore the last findings, names, OU paths and per-account times
into the metrics in worker threads, and only then report ready, so the first scrape of a ready
daemon sees the last known state with the same labels as before the restart; then the alert
loop (it delivers what a previous process left in the outbox) and the scheduler (first scan
now). From the start, a reporter tells the front every change of the probes' answers (and
repeats them each second: a daemon that stops reporting is hung, and its probes say so).

A start that fails (the state cannot be opened or read, the port is taken) closes what it
opened and logs nothing: ``daemon_started`` is logged once the state is restored, and the
caller's one ``scanner: error:`` line is the whole story (:func:`scanner.cli.serve.serve` does
not call :meth:`Daemon.stop`, so no ``daemon_stopped`` either).

Shutdown (:meth:`Daemon.stop`, on SIGTERM/SIGINT): the scheduler stops starting work and
abandons a collection in progress but lets a store write finish; the alert loop ends after its
current request; the front and then the daemon's own server close; the store closes last. Each
step is bounded, so the process exits within a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import structlog
from aiohttp import web

from scanner.daemon.alerts import AlertDispatcher
from scanner.daemon.config import Config
from scanner.daemon.front_control import Front, bind, private_socket_path
from scanner.daemon.http import make_app, probe_answers, start_unix, url_of
from scanner.daemon.metrics import Metrics
from scanner.daemon.scheduler import Collect, Service, default_collect
from scanner.daemon.sharding import Shard, resolve
from scanner.daemon.state import StateStore

log = structlog.get_logger("scanner.daemon")

SHUTDOWN_GRACE = 5.0  # seconds each background loop gets to finish after stop
REPORT_EVERY = 0.05  # seconds between two looks at the probes' answers


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
        self.server: web.AppRunner | None = None  # the application, on a private Unix socket
        self.front: Front | None = None  # the process that owns the port
        self.service: Service | None = None
        self.dispatcher: AlertDispatcher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._helpers: list[asyncio.Task[None]] = []  # the front's reporter and watcher
        self._socket_directory: Path | None = None

    @property
    def url(self) -> str:
        assert self.front is not None, "not started"
        return url_of(*self.front.address)

    async def start(self) -> None:
        config = self.config
        self.store = store = await asyncio.to_thread(
            StateStore.connect, config.state.path, config.state.keep_history
        )
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
        # Alive, not ready, from the port's first moment until the scheduler loop runs.
        service.health.starting = service.health.restoring = True
        try:
            await self._serve(service)
        except BaseException:
            await self._close_http()
            store.close()
            raise
        assert self.front is not None
        try:
            await asyncio.to_thread(store.load)
            await asyncio.to_thread(service.restore)
        except BaseException:
            await self._close_http()
            store.close()
            raise
        log.info(
            "daemon_started",
            listen=self.url,
            shard=self.shard.ordinal,
            total_shards=self.shard.total,
            state=config.state.path,
            targets=[t.name for t in config.alerts.targets],
        )
        self._tasks = [
            asyncio.create_task(dispatcher.run(self.stopping)),
            asyncio.create_task(service.run(self.stopping)),
        ]
        if config.events.enabled:
            self._tasks.append(asyncio.create_task(self._consume_events(service, metrics)))
        await asyncio.sleep(0)  # the scheduler loop runs: alive on its own from here
        service.health.starting = False
        self.front.say(probe_answers(service))
        await self.front.sync()  # start() returns once the port answers what we know now

    async def _consume_events(self, service: Service, metrics: Metrics) -> None:
        """The event path (:mod:`.events`), on the scans' long-lived AWS session: an event for
        an account a scan entered costs no AssumeRole, and both pace their calls together."""
        from scanner.aws.events import EventSession
        from scanner.daemon.events import EventConsumer

        session = EventSession(service.options, service.aws_session())
        try:
            await EventConsumer(service, session, metrics).run(self.stopping)
        finally:
            await session.close()

    async def _serve(self, service: Service) -> None:
        """Bind the port, serve the application privately, start the front and its reporter."""
        config = self.config
        host, port = config.http.address
        sockets = await asyncio.to_thread(bind, host, port)  # OSError: the caller says so
        upstream, self._socket_directory = private_socket_path()
        try:
            app = make_app(service, lambda: config.http.read_token(self.environ))
            self.server = await start_unix(app, upstream)
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        self.front = front = Front(sockets, upstream, log_format=config.logging.format)
        service.metrics.state.front_restarts = lambda: max(front.starts - 1, 0)
        front.say(probe_answers(service))
        await front.start()
        if not await front.sync():
            # It could not start: the daemon cannot serve (start() closes what was opened).
            process = front.process
            code = process.returncode if process is not None else None
            raise OSError(f"the HTTP front process did not start (exit status {code})")
        self._helpers = [
            asyncio.create_task(self._report(front, service)),
            asyncio.create_task(front.watch()),
        ]

    @staticmethod
    async def _report(front: Front, service: Service) -> None:
        while True:
            front.say(probe_answers(service))
            await asyncio.sleep(REPORT_EVERY)

    async def _close_http(self) -> None:
        """The front first (no new requests), then the daemon's own server."""
        if self.front is not None:
            await self.front.close()
        for helper in self._helpers:
            helper.cancel()
        for helper in self._helpers:
            with contextlib.suppress(asyncio.CancelledError):
                await helper
        self._helpers = []
        if self.server is not None:
            await self.server.cleanup()
            self.server = None
        if self._socket_directory is not None:
            shutil.rmtree(self._socket_directory, ignore_errors=True)
            self._socket_directory = None

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
        if self.service is not None:
            await self.service.close()  # the AWS session: its connections
        if self.dispatcher is not None:
            await self.dispatcher.aclose()
        await self._close_http()
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
