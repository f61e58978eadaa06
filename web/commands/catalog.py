"""`c2m` commands: catalog."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
