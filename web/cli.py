"""The ``c2m`` command line: one entry point for every package's commands."""

from __future__ import annotations

import click

from web.commands import bom, catalog, configure, db, serve, token, user, webhook, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mass-customization order configurator: catalogs, configuration, BOMs, orders."""


for _module in (catalog, db, configure, bom, serve, token, user, webhook, worker):
    for _command in _module.COMMANDS:
        main.add_command(_command)
