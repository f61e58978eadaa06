"""The module the ``dramatiq`` command line loads: ``dramatiq jobs.worker`` (``c2m worker`` runs it).

Builds the broker from the environment, declares the actors and adds the
outbox sweeper, so every worker process both runs jobs and feeds the queue, and the heartbeat
(:mod:`jobs.heartbeat`) that shows it alive.
"""

from __future__ import annotations

import logging

from .engine import QUEUES, current
from .heartbeat import WorkerHeartbeat
from .settings import install_compile_settings
from .sweeper import Sweeper

logging.getLogger("c2m.jobs").setLevel(logging.INFO)

install_compile_settings()  # compile with the web app's backend, under the job's time budget
jobs = current()
if jobs is None:
    raise SystemExit("c2m worker needs C2M_BROKER_URL (or C2M_REDIS_URL): the Redis the jobs are queued on")
jobs.broker.add_middleware(Sweeper(jobs))
jobs.broker.add_middleware(WorkerHeartbeat(jobs.settings.namespace, jobs.settings.heartbeat_every, QUEUES))
broker = jobs.broker
