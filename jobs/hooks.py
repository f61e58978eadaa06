"""Publishing's hooks into the job engine, light enough for the web app to install on every start.

:mod:`jobs.engine` imports Dramatiq and the Redis client, and most web workers never publish a
version. These hooks import it only when a job engine can be there: ``jobs.engine`` is already
loaded (a worker, or a test that installed a broker) or a broker URL is set. Otherwise
:func:`jobs.engine.current` would answer None anyway, so the hooks do what the engine's would.
"""

from __future__ import annotations

import sys

from .settings import broker_url


def _engine_possible() -> bool:
    return "jobs.engine" in sys.modules or broker_url() is not None


def send_prepare(code: str, number: int, content_hash: str) -> None:
    """After-publish hook: queue compile-on-publish for the version (nothing without a job engine)."""
    if _engine_possible():
        from .engine import send_prepare as send

        send(code, number, content_hash)


def compile_jobs_configured() -> bool:
    """A job engine is configured: publishing may leave a large model to a compile job."""
    if not _engine_possible():
        return False
    from .engine import compile_jobs_configured as configured

    return configured()


def hook_publishing() -> None:
    """Queue ``prepare_version`` after every commit that publishes a version (the web app calls this),
    and let publishing accept models over the request budget for the compile job."""
    from usecases.publishing import on_compile_jobs, on_published

    on_published(send_prepare)
    on_compile_jobs(compile_jobs_configured)
