"""The state a buyer sees after "Finish for me": the engine's state alone (baseline) against the
origin-aware state (filled values labelled "completed", values only they rule out offered again).

    .venv/bin/python -m benchmarks.bench_provenance [--runs 9]

On a fresh demo database (SQLite in a temporary directory), each run starts a city e-bike with one
decision of the buyer (a different rider height per run), applies "Finish for me", and times with
cold state caches: the engine's state of the stored decisions, then the state the storefront and the
API show (that engine state plus the state of the buyer's own decisions). Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    from usecases import configurations as configs
    from web import create_app, database
    from web.commands.serve import load_demo_database

    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite'}"
    load_demo_database(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True, "RATELIMIT_ENABLED": False})
    engine_ms: list[float] = []
    shown_ms: list[float] = []
    with app.app_context():
        session = database.session()
        for run in range(args.runs):
            height = 150 + 5 * (run % 11)
            cfg = configs.create_configuration(session, "city-ebike", [{"attribute": "rider_height", "value": height}],
                                               catalog_code="wuhan-bikes")
            _values, cfg = configs.complete(session, cfg, apply=True)
            configs._states.clear()
            configs._soft_states.clear()
            started = time.perf_counter()
            cfg.configurator.state(cfg.history)
            engine_ms.append((time.perf_counter() - started) * 1000)
            configs._states.clear()
            configs._soft_states.clear()
            fresh = configs.get_configuration(session, cfg.id)
            started = time.perf_counter()
            fresh.state()
            shown_ms.append((time.perf_counter() - started) * 1000)
    engine, shown = statistics.median(engine_ms), statistics.median(shown_ms)
    print(f"runs: {args.runs} (city e-bike after Finish for me, cold state caches)")
    print("| state | median ms |")
    print("|---|---:|")
    print(f"| engine state of the stored decisions (baseline) | {engine:.1f} |")
    print(f"| state shown to the buyer (origins applied) | {shown:.1f} |")
    print(f"ratio shown / baseline: {shown / engine:.2f}")


if __name__ == "__main__":
    main()
