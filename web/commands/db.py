"""`c2m` commands: db."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
