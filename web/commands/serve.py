"""`c2m serve`: run the storefront, API and workspace."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import click
from sqlalchemy.orm import Session


def load_demo_database(url: str) -> list[str]:
    """Migrate ``url`` to head and import + publish every shipped demo catalog.

    Returns the codes of the catalogs loaded.
    """
    from catalog.db import make_engine, upgrade_database
    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file
    from catalog.services import import_catalog
    from configurator.rules.catalog_check import expression_checker

    upgrade_database(url)
    engine = make_engine(url)
    codes = []
    try:
        for path in demo_catalog_paths():
            catalog = load_catalog_file(path, expression_checker=expression_checker)
            with Session(engine) as session:
                import_catalog(session, catalog, source=path.name, publish=True)
                session.commit()
            codes.append(catalog.code)
    finally:
        engine.dispose()
    return codes


def production_command(
    environ: Mapping[str, str], *, allow_sqlite: bool, bind: str | None, workers: int | None
) -> tuple[list[str], dict[str, str]]:
    """The gunicorn command line and environment of ``c2m serve --production``.

    :raise click.UsageError: ``C2M_SECRET_KEY`` is unset, or ``C2M_DATABASE_URL``
        is unset or SQLite without ``--allow-sqlite`` (several worker processes
        writing one SQLite file queue on its lock; use PostgreSQL).

    >>> cmd, env = production_command(
    ...     {"C2M_SECRET_KEY": "k", "C2M_DATABASE_URL": "postgresql+psycopg://db/c2m"},
    ...     allow_sqlite=False, bind="0.0.0.0:8000", workers=3)
    >>> cmd[1:4], env["C2M_PRODUCTION"], env["C2M_WORKERS"], env["C2M_BIND"]
    (['-m', 'gunicorn', '--config'], '1', '3', '0.0.0.0:8000')
    """
    from catalog.db import is_sqlite

    if not environ.get("C2M_SECRET_KEY", "").strip():
        raise click.UsageError(
            "--production needs C2M_SECRET_KEY (shared by every worker; "
            "e.g. python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    url = environ.get("C2M_DATABASE_URL", "").strip()
    if not url:
        raise click.UsageError("--production needs C2M_DATABASE_URL (e.g. postgresql+psycopg://c2m@db/c2m)")
    if is_sqlite(url) and not allow_sqlite:
        raise click.UsageError(
            "C2M_DATABASE_URL is SQLite: use PostgreSQL in production, or pass --allow-sqlite for one machine"
        )
    env = dict(environ)
    env["C2M_PRODUCTION"] = "1"
    if bind:
        env["C2M_BIND"] = bind
    if workers:
        env["C2M_WORKERS"] = str(workers)
    conf = Path(__file__).resolve().parent.parent / "gunicorn_conf.py"
    return [sys.executable, "-m", "gunicorn", "--config", str(conf), "web:create_app()"], env


@click.command("serve")
@click.option("--demo", is_flag=True, help="Start on a fresh SQLite database with the demo catalogs published.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--production",
    is_flag=True,
    help="Run gunicorn (web/gunicorn_conf.py; C2M_WORKERS processes) instead of the development server; "
    "needs C2M_SECRET_KEY and a PostgreSQL C2M_DATABASE_URL.",
)
@click.option("--allow-sqlite", is_flag=True, help="With --production: accept a SQLite database (one machine).")
@click.option("--bind", default=None, help="With --production: address to listen on (default $C2M_BIND or host:port).")
@click.option("--workers", default=None, type=click.IntRange(min=1), help="With --production: worker processes.")
def serve(
    demo: bool,
    host: str,
    port: int,
    production: bool,
    allow_sqlite: bool,
    bind: str | None,
    workers: int | None,
) -> None:
    """Serve the storefront (/), the REST API (/api/v1/) and the workspace (/admin/)."""
    from web import create_app

    if production:
        if demo:
            raise click.UsageError("--demo and --production exclude each other")
        address = bind or os.environ.get("C2M_BIND") or f"{host}:{port}"
        argv, env = production_command(os.environ, allow_sqlite=allow_sqlite, bind=address, workers=workers)
        click.echo(f"gunicorn on http://{env['C2M_BIND']}/ with {env.get('C2M_WORKERS', 'one per core')} worker(s)")
        # exec: gunicorn becomes this process, so signals from the supervisor reach it directly
        # (bandit B606: argv is fixed - the running interpreter and our config - and no shell is involved)
        os.execve(argv[0], argv, env)  # nosec B606
    overrides: dict[str, object] = {}
    if demo:
        instance = Path(os.getcwd()) / "instance"
        instance.mkdir(exist_ok=True)
        db_file = instance / "demo.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{db_file}"
        codes = load_demo_database(url)
        click.echo(f"demo database {db_file} with catalogs: {', '.join(codes)}")
        overrides["DATABASE_URL"] = url
    app = create_app(overrides)
    click.echo(f"serving on http://{host}:{port}/")
    app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)


COMMANDS: list[click.Command] = [serve]
