"""The emulator process: informers, a work queue, the controllers, the fake kubelet, wired together.

Start-up order matters for a restart to be lossless: the kubelet serves and the Node points at it;
then every informer lists its resource; only when all caches are filled do the queue's workers
start, so no reconcile ever decides from a half-empty cache (for example, that a Function does not
exist). Every object is then reconciled once, which re-arms every timer from the timestamps in the
resources (nextAttemptAt, resumeAt, finishedAt + TTL, nextScheduleTime, deleteAt) and picks up
every execution that was Executing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.archive import Archiver, slim_archive
from kontinue_sandbox.emulator.context import (
    INDEX_FUNCTION,
    INDEX_PARENT,
    Context,
    without_managed_fields,
)
from kontinue_sandbox.emulator.executions import ExecutionController
from kontinue_sandbox.emulator.informer import Informer, key_of
from kontinue_sandbox.emulator.kube import ApiError, Kube
from kontinue_sandbox.emulator.kubelet import FakeKubelet
from kontinue_sandbox.emulator.podlogs import PodLogs
from kontinue_sandbox.emulator.scheduler import INDEX_FUNCTION as INDEX_EXECUTION_FUNCTION
from kontinue_sandbox.emulator.scheduler import holds
from kontinue_sandbox.emulator.schedules import ScheduleController
from kontinue_sandbox.emulator.suspensions import SuspensionController
from kontinue_sandbox.emulator.times import Clock, RealClock, Speed, format_timestamp
from kontinue_sandbox.emulator.worker import Workers, slim_pod
from kontinue_sandbox.emulator.workqueue import WorkQueue

log = logging.getLogger(__name__)


class EmulatorError(RuntimeError):
    """The emulator cannot run against this cluster (the message says why and what to do)."""


@dataclass
class Options:
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: list[str] | None = None
    speed: float = 1.0
    log_dir: Path = field(default_factory=lambda: Path("kontinue-emulator"))
    node_name: str = "kontinue-emulator"
    kubelet_address: str = "127.0.0.1"
    kubelet_bind: str = "127.0.0.1"
    kubelet_port: int = 0
    workers: int = 64
    max_in_flight: int = 64
    qps: float = 2000.0
    burst: int = 2000
    ready_file: Path | None = None


class Emulator:
    def __init__(self, options: Options, clock: Clock | None = None) -> None:
        self.options = options
        self.clock: Clock = clock or RealClock()
        self.speed = Speed(options.speed)
        self._tasks: list[asyncio.Task[Any]] = []

    # -- change handlers: they only queue keys -----------------------------------------------------

    def _add(self, kind: str, namespace: str, name: str | None) -> None:
        if name:
            self.queue.add((kind, namespace, name))

    def _on_execution(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        namespace, name = key_of(obj)
        self._add("Execution", namespace, name)
        if new is None:
            self.executions_ctl.forget((namespace, name), old)
        old_phase = names.phase(old) if old is not None else None
        new_phase = names.phase(new) if new is not None else None
        labels = names.labels(obj)
        if old_phase != new_phase or new is None:
            self._add("Execution", namespace, labels.get(names.LABEL_PARENT))
            self._add("ScheduledExecution", namespace, labels.get(names.LABEL_SCHEDULE))
        became_terminal = (
            new is not None and names.is_terminal(new) and (old is None or not names.is_terminal(old))
        )
        if (
            new is None
            or became_terminal
            or (old is not None and new is not None and holds(old) != holds(new))
        ):
            for waiter in self.ctx.scheduler.waiters(obj):
                self._add("Execution", *waiter)
        if became_terminal:
            for child in self.ctx.executions.store.by_index(INDEX_PARENT, (namespace, name)):
                self._add("Execution", *key_of(child))
            for child in self.ctx.suspensions.store.by_index(INDEX_PARENT, (namespace, name)):
                self._add("Suspension", *key_of(child))

    def _on_suspension(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        namespace, name = key_of(obj)
        self._add("Suspension", namespace, name)
        old_phase = names.suspension_phase(old) if old is not None else None
        new_phase = names.suspension_phase(new) if new is not None else None
        if old_phase != new_phase or new is None:
            self._add("Execution", namespace, names.labels(obj).get(names.LABEL_PARENT))

    def _on_function(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        namespace, name = key_of(obj)
        self._add("Function", namespace, name)
        for execution in self.ctx.executions.store.by_index(INDEX_EXECUTION_FUNCTION, (namespace, name)):
            if not names.is_terminal(execution):
                self._add("Execution", *key_of(execution))
        for schedule in self.ctx.schedules.store.by_index(INDEX_FUNCTION, (namespace, name)):
            self._add("ScheduledExecution", *key_of(schedule))

    def _on_schedule(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        self._add("ScheduledExecution", *key_of(obj))

    def _on_archive(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if new is not None:
            self._add("ArchivedExecution", *key_of(new))

    # -- functions: mark them registered -----------------------------------------------------------

    async def _reconcile_function(self, namespace: str, name: str) -> None:
        function = self.ctx.functions.store.get(namespace, name)
        if function is None or names.status(function).get("lastRegisteredAt"):
            return
        status = {**names.status(function), "lastRegisteredAt": format_timestamp(self.clock.now())}
        await self.ctx.write_status(self.ctx.functions, function, status)

    # -- running -----------------------------------------------------------------------------------

    async def _dispatch(self, key: Hashable) -> None:
        assert isinstance(key, tuple)
        kind, namespace, name = key
        if kind == "Execution":
            await self.executions_ctl.reconcile(namespace, name)
        elif kind == "Suspension":
            await self.suspensions_ctl.reconcile(namespace, name)
        elif kind == "ScheduledExecution":
            await self.schedules_ctl.reconcile(namespace, name)
        elif kind == "ArchivedExecution":
            await self.archiver.reconcile_archive(namespace, name)
        elif kind == "Function":
            await self._reconcile_function(namespace, name)

    async def _worker(self) -> None:
        failures: dict[Hashable, int] = {}
        while True:
            key = await self.queue.get()
            try:
                await self._dispatch(key)
                failures.pop(key, None)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                count = failures[key] = failures.get(key, 0) + 1
                delay = min(0.1 * 2**count, 10.0)
                if isinstance(err, ApiError):
                    log.warning("reconciling %s failed: %s; retrying in %.1fs", key, err, delay)
                else:
                    log.exception("reconciling %s failed; retrying in %.1fs", key, delay)
                self.queue.add_at(key, self.clock.now() + timedelta(seconds=delay))
            finally:
                self.queue.done(key)

    async def _check_crds(self) -> None:
        try:
            resources = await self.kube.request("GET", f"/apis/{names.GROUP}/{names.VERSION}")
        except ApiError as err:
            if err.not_found:
                raise EmulatorError(
                    "the kontinue CRDs are not installed in this cluster: apply "
                    "sandbox/kontinue_sandbox/crds/*.yaml (kubectl apply -f) and start again"
                ) from None
            raise EmulatorError(f"cannot reach the API server: {err}") from err
        served = {r.get("name") for r in resources.get("resources") or []}
        missing = {
            "executions",
            "suspensions",
            "functions",
            "scheduledexecutions",
            "archivedexecutions",
        } - served
        if missing:
            raise EmulatorError(f"kontinue CRDs missing from the cluster: {', '.join(sorted(missing))}")

    async def run(self, stop: asyncio.Event | None = None) -> None:
        options = self.options
        self.kube = await Kube.from_kubeconfig(
            options.kubeconfig,
            context=options.context,
            max_in_flight=options.max_in_flight,
            qps=options.qps,
            burst=options.burst,
        )
        try:
            await self._check_crds()
            await self._run(stop or asyncio.Event())
        finally:
            await self._shutdown()

    async def _run(self, stop: asyncio.Event) -> None:
        options = self.options
        options.log_dir.mkdir(parents=True, exist_ok=True)
        self.logs = PodLogs(options.log_dir / "pods")
        self.kubelet = FakeKubelet(
            self.kube,
            self.logs,
            self.clock,
            node_name=options.node_name,
            address=options.kubelet_address,
            bind=options.kubelet_bind,
            port=options.kubelet_port,
            pki_dir=options.log_dir / "kubelet-pki",
        )
        port = await self.kubelet.start()
        await self.kubelet.register_node()
        self.queue = WorkQueue(self.clock)
        namespaces = options.namespaces or None

        def informer(resource: names.Resource, handler: Any = None, **kwargs: Any) -> Informer:
            kwargs.setdefault("transform", without_managed_fields)
            return Informer(self.kube, resource, namespaces=namespaces, on_change=handler, **kwargs)

        # Worker pods change only through the emulator's own writes: list them once, do not watch.
        pods = informer(
            names.PODS, transform=slim_pod, field_selector=f"spec.nodeName={options.node_name}", watch=False
        )
        self.ctx = Context(
            kube=self.kube,
            clock=self.clock,
            speed=self.speed,
            queue=self.queue,
            executions=informer(names.EXECUTIONS, self._on_execution),
            suspensions=informer(names.SUSPENSIONS, self._on_suspension),
            functions=informer(names.FUNCTIONS, self._on_function),
            schedules=informer(names.SCHEDULES, self._on_schedule),
            archives=informer(names.ARCHIVES, self._on_archive, transform=slim_archive),
            pods=pods,
            workers=Workers(
                self.kube,
                self.logs,
                self.clock,
                pods,
                node_name=options.node_name,
                address=options.kubelet_address,
            ),
        )
        self.kubelet.pod_state = self.ctx.workers.pod_state
        self.archiver = Archiver(self.ctx, self.logs)
        self.executions_ctl = ExecutionController(self.ctx, self.archiver)
        self.suspensions_ctl = SuspensionController(self.ctx)
        self.schedules_ctl = ScheduleController(self.ctx, self.archiver)
        informers = [
            self.ctx.functions,
            self.ctx.pods,
            self.ctx.suspensions,
            self.ctx.schedules,
            self.ctx.archives,
            self.ctx.executions,
        ]
        loop = asyncio.get_running_loop()
        self._tasks += [loop.create_task(i.run(), name=f"informer {i.resource.plural}") for i in informers]

        async def all_synced() -> None:
            await asyncio.gather(*(i.synced.wait() for i in informers))

        synced = loop.create_task(all_synced())
        done, _ = await asyncio.wait([synced, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        if synced not in done:
            synced.cancel()
            failed = next(task for task in done if task is not synced)
            raise EmulatorError(f"{failed.get_name()} stopped: {failed.exception()!r}")
        self._tasks.append(loop.create_task(self.queue.run_timers(), name="timers"))
        self._tasks += [loop.create_task(self._worker(), name=f"worker {n}") for n in range(options.workers)]
        self._tasks.append(loop.create_task(self.kubelet.heartbeat(), name="heartbeat"))
        counts = {i.resource.plural: len(i.store.objects) for i in informers}
        log.info(
            "emulator ready: speed %s, node %s, kubelet port %d, caches %s",
            self.speed.factor,
            options.node_name,
            port,
            counts,
        )
        if options.ready_file is not None:
            options.ready_file.write_text(
                json.dumps({"pid": os.getpid(), "kubeletPort": port, "node": options.node_name})
            )
        await stop.wait()

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tasks.clear()
        controller = getattr(self, "executions_ctl", None)
        if controller is not None:
            await controller.shutdown()
            await self.ctx.workers.close()
        kubelet = getattr(self, "kubelet", None)
        if kubelet is not None:
            await kubelet.stop()
        await self.kube.close()
