"""The ``c2m`` command line: one entry point for every package's commands."""

from __future__ import annotations

import click

from web.commands import bom as bom_commands
from web.commands import catalog as catalog_commands
from web.commands import configure as configure_commands
from web.commands import db as db_commands
from web.commands import serve as serve_commands


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mass-customization order configurator: catalogs, configuration, BOMs, orders."""


for _module in (catalog_commands, db_commands, configure_commands, bom_commands, serve_commands):
    for _command in _module.COMMANDS:
        main.add_command(_command)
