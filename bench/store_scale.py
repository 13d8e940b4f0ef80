"""How the SQLite store scales: bytes per enrolled person and get() latency at 100k people.

    .venv/bin/python bench/store_scale.py [--users 100000] [--path /tmp/x.db]

Hashes are realistic in size and shape (argon2id, default parameters, 16-byte salt,
32-byte hash, random bytes) but not computed: 300k real argon2 hashes would take
~9 hours. Question texts are the default questionnaire's. Goals: <= 1 KB per person,
get() p99 <= 5 ms. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import sqlite3
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kiosk.backend.model import Enrollment, StoredAnswer
from kiosk.backend.store.sqlite import SqliteStore
from kiosk.config import QuestionsSettings


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def fake_hash() -> str:
    return f"$argon2id$v=19$m=65536,t=3,p=4${b64(os.urandom(16))}${b64(os.urandom(32))}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--path")
    args = parser.parse_args()

    workdir = None
    if args.path:
        path = Path(args.path)
    else:
        workdir = tempfile.TemporaryDirectory()
        path = Path(workdir.name) / "kiosk.db"

    texts = {q.id: q.text for q in QuestionsSettings().questions}
    group = ["first-pet", "first-school", "childhood-street", "first-concert", "favourite-teacher"]
    rng = random.Random(1)
    store = SqliteStore(path)
    guids: list[str] = []
    started = time.perf_counter()
    now = datetime.now(UTC)
    for i in range(args.users):
        guid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ids = ["birth-city", *rng.sample(group, 2)]
        store.put(
            Enrollment(
                account_guid=guid,
                account_name=f"CORP\\user{i:06d}",
                answers=tuple(StoredAnswer(q, texts[q], fake_hash()) for q in ids),
                enrolled_at=now,
                last_used_at=now if i % 3 == 0 else None,
            )
        )
        guids.append(guid)
    fill = time.perf_counter() - started
    store.close()

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    size = path.stat().st_size
    print(f"users: {args.users}  (filled in {fill:.1f}s, {fill / args.users * 1e6:.0f} us per put)")
    print(f"file size: {size / 1e6:.1f} MB  ->  {size / args.users:.0f} bytes per user (goal <= 1024)")

    store = SqliteStore(path)
    store.get(guids[0])  # connection warm-up
    probes = [rng.choice(guids) for _ in range(args.lookups)]
    misses = [str(uuid.uuid4()) for _ in range(args.lookups // 10)]
    hit_times, miss_times = [], []
    for guid in probes:
        t = time.perf_counter()
        assert store.get(guid) is not None
        hit_times.append((time.perf_counter() - t) * 1000)
    for guid in misses:
        t = time.perf_counter()
        store.get(guid)
        miss_times.append((time.perf_counter() - t) * 1000)
    store.close()

    def pct(values: list[float], q: float) -> float:
        return statistics.quantiles(values, n=1000)[int(q * 10) - 1]

    print(
        f"get() enrolled: p50 {statistics.median(hit_times):.3f} ms  p99 {pct(hit_times, 99):.3f} ms  "
        f"max {max(hit_times):.3f} ms  (goal p99 <= 5 ms; {len(hit_times)} lookups)"
    )
    print(
        f"get() unknown:  p50 {statistics.median(miss_times):.3f} ms  p99 {pct(miss_times, 99):.3f} ms  "
        f"({len(miss_times)} lookups)"
    )
    if workdir:
        workdir.cleanup()


if __name__ == "__main__":
    main()
