"""Place orders through a proxy in front of several web processes, then check what was stored.

    .venv/bin/python scripts/scaleout_trial.py --proxy http://127.0.0.1:8800 --orders 60 --threads 6 \
        [--stop-pid PID]      # SIGTERM this web process (gunicorn master) when half the orders are placed

Each order is a whole buyer journey through the proxy (create a configuration, complete it, order
it with an Idempotency-Key). Prints which upstream answered (nginx's ``X-Upstream`` header, when
the proxy sets it), the status codes, and then, from ``C2M_DATABASE_URL``: orders and production
orders stored for the orders placed, and the webhook events of those orders that the job workers
delivered (waiting up to ``--wait`` seconds). Exits 1 when anything is off.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:  # a proxy's HTML error page
        return None


def call(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, str]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # nosec B310 - the trial's own URL
            return response.status, _json(response.read()), response.headers.get("X-Upstream", "?")
    except urllib.error.HTTPError as exc:
        return exc.code, _json(exc.read()), exc.headers.get("X-Upstream", "?")


def journey(base: str, product: str) -> tuple[str | None, list[tuple[int, str]]]:
    steps: list[tuple[int, str]] = []
    status, body, upstream = call(base, "POST", "/api/v1/configurations", {"product": product})
    steps.append((status, upstream))
    if status != 201:
        return None, steps
    cid = body["id"]
    status, body, upstream = call(base, "POST", f"/api/v1/configurations/{cid}/complete",
                                  {"objective": "defaults", "apply": True})
    steps.append((status, upstream))
    if status != 200:
        return None, steps
    status, body, upstream = call(base, "POST", "/api/v1/orders", {"configuration_id": cid},
                                  {"Idempotency-Key": uuid.uuid4().hex})
    steps.append((status, upstream))
    return (body.get("number") if status == 201 and body else None), steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--proxy", default="http://127.0.0.1:8800")
    parser.add_argument("--orders", type=int, default=60)
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--product", default="city-ebike")
    parser.add_argument("--stop-pid", type=int, default=None)
    parser.add_argument("--wait", type=float, default=60.0)
    args = parser.parse_args()

    from usecases.records import OrderRecord, OutboxEvent, ProductionOrderRecord

    placed: list[str] = []
    statuses: Counter[int] = Counter()
    upstreams: Counter[str] = Counter()
    lock = threading.Lock()

    def one(i: int) -> None:
        if args.stop_pid and i == args.orders // 2:
            os.kill(args.stop_pid, signal.SIGTERM)
            print(f"order {i}: sent SIGTERM to web process {args.stop_pid}", flush=True)
        number, steps = journey(args.proxy, args.product)
        with lock:
            for status, upstream in steps:
                statuses[status] += 1
                upstreams[upstream] += 1
            if number:
                placed.append(number)

    started = time.monotonic()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(one, range(args.orders)))
    seconds = time.monotonic() - started
    print(f"{len(placed)} of {args.orders} orders placed in {seconds:.1f} s "
          f"({len(placed) / seconds:.1f} journeys/s, {sum(statuses.values())} requests)")
    print("status codes:", dict(sorted(statuses.items())))
    print("answered by:", dict(sorted(upstreams.items())))

    engine = create_engine(os.environ["C2M_DATABASE_URL"])
    ok = len(placed) == args.orders and set(statuses) <= {200, 201}
    with Session(engine) as session:
        stored = session.scalar(select(func.count()).select_from(OrderRecord).where(OrderRecord.number.in_(placed)))
        pos = session.scalar(
            select(func.count()).select_from(ProductionOrderRecord)
            .join(OrderRecord, OrderRecord.id == ProductionOrderRecord.order_id)
            .where(OrderRecord.number.in_(placed))
        )
        print(f"stored: {stored} orders, {pos} production orders")
        ok = ok and stored == len(placed) and pos == len(placed)
        deadline = time.monotonic() + args.wait
        while True:
            rows = session.execute(
                select(OutboxEvent.delivered_at, OutboxEvent.attempts)
                .where(OutboxEvent.order_number.in_(placed), OutboxEvent.event_type == "order.created")
            ).all()
            session.rollback()
            delivered = sum(1 for d, _ in rows if d is not None)
            if delivered == len(rows) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        print(f"order.created events: {len(rows)}, delivered by the job workers: {delivered}, "
              f"attempts: {dict(Counter(a for _, a in rows))}")
        ok = ok and len(rows) == len(placed) and delivered == len(rows)
    engine.dispose()
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
