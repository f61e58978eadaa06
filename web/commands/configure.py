"""`c2m` commands: configure."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
