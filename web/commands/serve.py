"""`c2m serve`: run the storefront, API and workspace."""

from __future__ import annotations

import os
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


@click.command("serve")
@click.option("--demo", is_flag=True, help="Start on a fresh SQLite database with the demo catalogs published.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(demo: bool, host: str, port: int) -> None:
    """Serve the storefront (/), the REST API (/api/v1/) and the workspace (/admin/)."""
    from web import create_app

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
