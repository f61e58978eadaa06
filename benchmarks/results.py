"""``benchmarks/RESULTS.md``: one section per benchmark, each replaced by that benchmark's latest run.

Every benchmark calls :func:`write_section` with its heading and body; the section
is delimited by HTML comments so a run replaces only its own table and never
another benchmark's.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "# Benchmark results\n\nLatest run of each benchmark (one command each; see the section's command line).\n"


def machine() -> str:
    """CPU count, model and memory of this machine, for the record."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
        )
        memory = f", {mem_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        memory = ""
    return f"{os.cpu_count()} CPUs, {model}{memory}, Python {platform.python_version()}"


def stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_section(key: str, heading: str, body: str, path: Path = RESULTS) -> None:
    """Replace (or add) the section ``key`` of the results file with ``heading`` and ``body``.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "R.md"
    >>> write_section("a", "A", "alpha", p); write_section("b", "B", "beta", p); write_section("a", "A", "gamma", p)
    >>> text = p.read_text(); "gamma" in text and "beta" in text and "alpha" not in text
    True
    """
    begin, end = f"<!-- section: {key} -->", f"<!-- end: {key} -->"
    block = f"{begin}\n## {heading}\n\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")
