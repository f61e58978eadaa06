"""The ``c2m`` command line: one entry point for every package's commands.

Commands are imported only when they run: ``c2m --help`` lists them from the
table below without importing Flask, SQLAlchemy or the engine, and
``c2m catalog validate`` imports only what reading a catalog file needs.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> (module under web.commands, attribute, one-line help shown by ``c2m --help``)
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "catalog": (
        "catalog",
        "catalog_group",
        "Catalogs: validate, check and diff files, import, publish, export, list.",
    ),
    "db": ("db", "db_group", "Database schema: create and upgrade it."),
    "configure": (
        "configure",
        "configure",
        "Print the propagated configuration state of PRODUCT after the --set decisions.",
    ),
    "model": ("configure", "model", "Inspect compiled product models."),
    "bom": ("bom", "bom_command", "Explode the BOM of a configured PRODUCT."),
    "production-order": (
        "bom",
        "production_order_command",
        "Create a production order for a configured PRODUCT, scheduled backwards from --due.",
    ),
    "serve": (
        "serve",
        "serve",
        "Serve the storefront (/), the REST API (/api/v1/) and the workspace (/admin/).",
    ),
    "token": ("token", "token_group", "API tokens for ERP systems and catalog tooling."),
    "user": ("user", "user", "Manage the manufacturer's workspace accounts."),
    "webhook": (
        "webhook",
        "webhook_group",
        "Webhook endpoints: events are signed (Standard Webhooks) and sent by `c2m worker`.",
    ),
    "cleanup": (
        "worker",
        "cleanup_command",
        "Delete abandoned configurations, expired idempotency keys and old workspace sign-ins.",
    ),
    "worker": (
        "worker",
        "worker_command",
        "Run the background jobs: webhook delivery, compile-on-publish, cleanup.",
    ),
    "jobs": ("worker", "jobs_group", "Background jobs: queues, failures and the outbox (no subcommand: the status)."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (``LAZY_COMMANDS``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in LAZY_COMMANDS:
            return command
        module_name, attribute, _help = LAZY_COMMANDS[cmd_name]
        module = importlib.import_module(f"web.commands.{module_name}")
        loaded = getattr(module, attribute)
        if not isinstance(loaded, click.Command):  # pragma: no cover - a wrong table entry
            raise TypeError(f"web.commands.{module_name}.{attribute} is not a click command")
        self.add_command(loaded, cmd_name)
        return loaded

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The listing comes from the table: importing every command to read its help is what made --help slow.
        rows = [(name, LAZY_COMMANDS[name][2]) for name in sorted(LAZY_COMMANDS)]
        rows += [
            (name, command.get_short_help_str(formatter.width))
            for name, command in sorted(self.commands.items())
            if name not in LAZY_COMMANDS and not command.hidden
        ]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Mass-customization order configurator: catalogs, configuration, BOMs, orders."""


def all_commands() -> dict[str, Any]:
    """Every command, imported (for tests and documentation checks)."""
    ctx = click.Context(main)
    return {name: main.get_command(ctx, name) for name in main.list_commands(ctx)}
