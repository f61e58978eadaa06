"""Worker heartbeats: every job worker process says every few seconds that it is alive.

The broker URL defaults to the Redis URL, so the web app queues jobs whenever
Redis answers, whether or not a worker takes them. Nothing runs them in the web
process instead: the heartbeats make the missing worker visible (``/readyz``,
``c2m jobs``, the workspace's jobs page) next to how many jobs wait and for how long.

Each process writes its id and the time into a sorted set in Redis (its
description in a hash beside it); a worker is alive while its last beat is
younger than ``alive_after`` (three beats). A worker stopped cleanly removes
itself; a killed one drops out of the alive count after three missed beats.
The stub broker (tests) keeps the beats in memory.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware

log = logging.getLogger("c2m.jobs.heartbeat")

_memory: dict[str, tuple[float, str]] = {}
"""Beats of the stub broker's workers: id -> (time, description)."""
FORGET_AFTER_S = 86_400.0
"""Entries of workers silent this long are deleted."""


@dataclass(frozen=True, slots=True)
class WorkerBeat:
    worker_id: str
    host: str
    pid: int
    started_at: float
    last_beat: float
    queues: tuple[str, ...]

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.last_beat


def _keys(namespace: str) -> tuple[str, str]:
    return f"{namespace}:c2m-workers", f"{namespace}:c2m-worker-info"


class WorkerHeartbeat(Middleware):
    """Beats from worker boot to worker shutdown, on a thread of its own."""

    def __init__(self, namespace: str, every: float, queues: tuple[str, ...]) -> None:
        self.namespace = namespace
        self.every = every
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.description = json.dumps(
            {"host": socket.gethostname(), "pid": os.getpid(), "started_at": time.time(), "queues": list(queues)}
        )
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.client: Any = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.client = getattr(broker, "client", None)
        self.stop.clear()
        self.beat()
        self.thread = threading.Thread(target=self.run, name="c2m-heartbeat", daemon=True)
        self.thread.start()

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=10)
        try:
            self.forget()
        except Exception:  # Redis away at shutdown: the entry ages out
            log.warning("heartbeat: could not remove %s", self.worker_id)

    def beat(self) -> None:
        now = time.time()
        if self.client is None:
            _memory[self.worker_id] = (now, self.description)
            return
        beats, info = _keys(self.namespace)
        pipe = self.client.pipeline()
        pipe.zadd(beats, {self.worker_id: now})
        pipe.hset(info, self.worker_id, self.description)
        pipe.execute()

    def forget(self) -> None:
        if self.client is None:
            _memory.pop(self.worker_id, None)
            return
        beats, info = _keys(self.namespace)
        pipe = self.client.pipeline()
        pipe.zrem(beats, self.worker_id)
        pipe.hdel(info, self.worker_id)
        pipe.execute()

    def run(self) -> None:
        while not self.stop.wait(self.every):
            try:
                self.beat()
            except Exception:  # Redis away: the next beat tries again
                log.exception("heartbeat: beat failed")


def _beat(worker_id: str, score: float, raw: Any) -> WorkerBeat:
    description = json.loads(raw) if raw else {}
    return WorkerBeat(
        worker_id=worker_id,
        host=str(description.get("host", "?")),
        pid=int(description.get("pid", 0)),
        started_at=float(description.get("started_at", score)),
        last_beat=score,
        queues=tuple(description.get("queues", ())),
    )


def alive_workers(broker: dramatiq.Broker, namespace: str, alive_after: float) -> tuple[WorkerBeat, ...]:
    """The workers whose last beat is younger than ``alive_after`` seconds (oldest first); older
    entries than :data:`FORGET_AFTER_S` are deleted on the way."""
    now = time.time()
    client = getattr(broker, "client", None)
    if client is None:
        return tuple(
            _beat(worker_id, at, raw) for worker_id, (at, raw) in sorted(_memory.items(), key=lambda kv: kv[1][0])
            if now - at < alive_after
        )
    beats, info = _keys(namespace)
    stale = client.zrangebyscore(beats, 0, now - FORGET_AFTER_S)
    if stale:
        pipe = client.pipeline()
        pipe.zrem(beats, *stale)
        pipe.hdel(info, *stale)
        pipe.execute()
    entries = client.zrangebyscore(beats, now - alive_after, "+inf", withscores=True)
    if not entries:
        return ()
    ids = [worker_id.decode() if isinstance(worker_id, bytes) else str(worker_id) for worker_id, _ in entries]
    raws = client.hmget(info, ids)
    return tuple(_beat(worker_id, float(score), raw) for worker_id, (_, score), raw in zip(ids, entries, raws, strict=True))


def forget_all_in_memory() -> None:
    """Drop the stub broker's beats (tests)."""
    _memory.clear()
