"""How each store engine scales: bytes per enrolled person, get() latency at 100k
people, and verifications per second with 8 kiosk processes at once.

    .venv/bin/python bench/store_scale.py [--users 100000] [--engines sqlite,postgresql]
        [--postgresql-url postgresql://…]   # else a throwaway local cluster (tests/pg.py)
        [--quick]

Hashes are realistic in size and shape (argon2id, default parameters, 16-byte salt,
32-byte hash, random bytes) but not computed: 300k real argon2 hashes would take
~9 hours. Question texts are the default questionnaire's. Goals: <= 1 KB per person,
get() p99 <= 5 ms.

"Verifications per second" is the store's share of one failed verification,
as SelfService does it (Throttle.begin_attempt: lock checks and two counted
failures; get() of the enrollment; Throttle.failed), in 8 processes at once,
each its own store as each kiosk session is. Argon2 is left out: it costs the
same on both engines and would hide the store. Prints numbers; asserts nothing.

--quick (or KIOSK_BENCH_QUICK=1): 200 people, 100 look-ups, verifiers for 0.5 s,
to check that the script still works (tests/integration/test_bench_scripts.py
passes its throwaway database as --postgresql-url); not a measurement.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from kiosk.backend.model import Enrollment, StoredAnswer
from kiosk.backend.store import open_store
from kiosk.config import QuestionsSettings, ThrottleSettings

WORKERS = 8
#: Generous limits: every attempt is counted, none refused (we measure the store, not the lock).
UNLIMITED = ThrottleSettings(
    account_max_failures=10**9, terminal_max_failures=10**9, lifetime_max_failures=10**9, window_seconds=86400,
    lock_seconds=60, delay_seconds=0, max_delay_seconds=0,
)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def fake_hash() -> str:
    return f"$argon2id$v=19$m=65536,t=3,p=4${b64(os.urandom(16))}${b64(os.urandom(32))}"


def fill(url: str, users: int, rng: random.Random) -> tuple[list[str], float]:
    texts = {q.id: q.text for q in QuestionsSettings().questions}
    group = ["first-pet", "first-school", "childhood-street", "first-concert", "favourite-teacher"]
    guids: list[str] = []
    now = datetime.now(UTC)
    store = open_store(url)
    started = time.perf_counter()
    for i in range(users):
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
    elapsed = time.perf_counter() - started
    store.close()
    return guids, elapsed


def size_on_disk(engine: str, url: str) -> int:
    if engine == "sqlite":
        path = Path(url.partition("://")[2])
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return path.stat().st_size
    # The enrollment table with its index and TOAST: what the people take, not the empty database.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM enrollment")
        row = conn.execute("SELECT pg_total_relation_size('enrollment')").fetchone()
    return int(row[0])


def lookups(url: str, guids: list[str], count: int, rng: random.Random) -> tuple[list[float], list[float]]:
    store = open_store(url)
    store.get(guids[0])  # connection warm-up
    hit_times, miss_times = [], []
    for guid in (rng.choice(guids) for _ in range(count)):
        t = time.perf_counter()
        assert store.get(guid) is not None
        hit_times.append((time.perf_counter() - t) * 1000)
    for guid in (str(uuid.uuid4()) for _ in range(count // 10)):
        t = time.perf_counter()
        store.get(guid)
        miss_times.append((time.perf_counter() - t) * 1000)
    store.close()
    return hit_times, miss_times


def _verifier(url: str, guids: list[str], index: int, seconds: float, start, results) -> None:
    from kiosk.backend.throttle import Throttle

    store = open_store(url)
    throttle = Throttle(store, UNLIMITED, sleep=lambda s: None)
    rng = random.Random(index)
    store.get(guids[0])
    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        guid = rng.choice(guids)
        attempt = throttle.begin_attempt(guid, f"tty-{index}")
        store.get(guid)
        throttle.failed(attempt)
        done += 1
    store.close()
    results.put(done)


def verifications_per_second(url: str, guids: list[str], seconds: float) -> float:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(WORKERS + 1)
    results = context.Queue()
    workers = [
        context.Process(target=_verifier, args=(url, guids[:5000], i, seconds, start, results)) for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    total = sum(results.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join(10)
    return total / seconds


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 10) - 1]


def bench(engine: str, url: str, args: argparse.Namespace) -> None:
    rng = random.Random(1)
    print(f"== {engine}")
    guids, fill_time = fill(url, args.users, rng)
    print(f"users: {args.users}  (filled in {fill_time:.1f}s, {fill_time / args.users * 1e6:.0f} us per put)")
    size = size_on_disk(engine, url)
    print(f"size: {size / 1e6:.1f} MB  ->  {size / args.users:.0f} bytes per user (goal <= 1024)")
    hits, misses = lookups(url, guids, args.lookups, rng)
    print(
        f"get() enrolled: p50 {statistics.median(hits):.3f} ms  p99 {pct(hits, 99):.3f} ms  "
        f"max {max(hits):.3f} ms  (goal p99 <= 5 ms; {len(hits)} lookups)"
    )
    print(f"get() unknown:  p50 {statistics.median(misses):.3f} ms  p99 {pct(misses, 99):.3f} ms  ({len(misses)} lookups)")
    rate = verifications_per_second(url, guids, args.seconds)
    print(f"verifications: {rate:.0f} per second with {WORKERS} kiosk processes at once (store work only, no argon2)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, help="default 100000; --quick: 200")
    parser.add_argument("--lookups", type=int, help="default 20000; --quick: 100")
    parser.add_argument("--seconds", type=float, help="how long the 8 verifiers run (default 10; --quick: 0.5)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--postgresql-url", help="an empty database to use instead of a throwaway local cluster")
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="small sizes, to check the script works (also KIOSK_BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    args.users = args.users or (200 if args.quick else 100_000)
    args.lookups = args.lookups or (100 if args.quick else 20_000)
    args.seconds = args.seconds or (0.5 if args.quick else 10.0)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]

    with tempfile.TemporaryDirectory() as workdir:
        for engine in engines:
            cluster = None
            if engine == "sqlite":
                url = f"sqlite://{workdir}/kiosk.db"
            elif args.postgresql_url:
                url = args.postgresql_url
            else:
                sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
                from pg import PgCluster  # the tests' throwaway cluster helper, by path

                cluster = PgCluster.start()
                url = cluster.create_database("bench")
                version = cluster.admin_sql("postgres", "SHOW server_version")[0][0]
                print(f"(a throwaway PostgreSQL {version} cluster on 127.0.0.1, fsync off: "
                      "a real server with fsync on commits more slowly)")
            try:
                bench(engine, url, args)
            finally:
                if cluster is not None:
                    cluster.remove()


if __name__ == "__main__":
    main()
