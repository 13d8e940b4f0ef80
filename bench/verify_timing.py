"""Does a failed verification take the same time for an unknown person as for an enrolled one?

    .venv/bin/python bench/verify_timing.py [--rounds 31] [--quick]

Both paths run as the service would: throttle.begin_attempt (sleep disabled), store
lookup, then either the enrolled questions (Questionnaire.challenge_for +
AnswerHasher.verify of every answer, no short-cut on the first wrong one) or the
decoys (site secret + Questionnaire.decoys + AnswerHasher.decoy_verify), then
throttle.failed. Default argon2 parameters (t=3, m=64 MiB, p=4). Rounds alternate
so drift hits both alike. Goal: medians within 5%. Prints numbers; asserts nothing.

--quick (or KIOSK_BENCH_QUICK=1): two rounds with the cheapest argon2 parameters,
to check that the script still works (tests/integration/test_bench_scripts.py);
not a measurement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kiosk.backend.answers import AnswerHasher
from kiosk.backend.model import Enrollment, StoredAnswer
from kiosk.backend.questions import Questionnaire
from kiosk.backend.store.sqlite import SqliteStore
from kiosk.backend.throttle import Throttle
from kiosk.config import AnswerHashSettings, QuestionsSettings, ThrottleSettings

WRONG = ["Atlantis", "Nobody", "Nowhere Lane"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, help="default 31; --quick: 2")
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="two rounds, cheapest argon2: checks the script works (also KIOSK_BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (2 if args.quick else 31)
    cost = AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1) if args.quick else AnswerHashSettings()

    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "kiosk.db")
        questionnaire = Questionnaire.from_settings(QuestionsSettings())
        hasher = AnswerHasher(cost)
        throttle = Throttle(
            store,
            ThrottleSettings(
                account_max_failures=10**6, terminal_max_failures=10**6, lifetime_max_failures=10**6, delay_seconds=0
            ),
            sleep=lambda s: None,
        )
        ids = ["birth-city", "first-pet", "first-concert"]
        store.put(
            Enrollment(
                "guid-enrolled",
                "CORP\\ada",
                tuple(
                    StoredAnswer(q, questionnaire.questions[q].text, hasher.hash(questionnaire.questions[q], "right"))
                    for q in ids
                ),
                datetime.now(UTC),
            )
        )

        def attempt(guid: str, name: str) -> bool:
            handle = throttle.begin_attempt(guid, "bench")
            enrollment = store.get(guid)
            ok = True
            if enrollment is not None and (challenge := questionnaire.challenge_for(enrollment)):
                hashes = {a.question_id: a.answer_hash for a in enrollment.answers}
                for question, answer in zip(challenge, WRONG):
                    ok &= hasher.verify(question, hashes[question.id], answer)
            else:
                for question, answer in zip(questionnaire.decoys(store.site_secret("decoys"), name), WRONG):
                    ok &= hasher.decoy_verify(question, answer)
                ok = False
            throttle.failed(handle)
            return ok

        def timed(guid: str, name: str) -> float:
            started = time.perf_counter()
            assert attempt(guid, name) is False
            return time.perf_counter() - started

        timed("guid-enrolled", "CORP\\ada")  # warm-up both paths
        timed("guid-unknown", "CORP\\mallory")
        enrolled, unknown = [], []
        for i in range(args.rounds):
            if i % 2:
                enrolled.append(timed("guid-enrolled", "CORP\\ada"))
                unknown.append(timed(f"guid-unknown-{i}", f"CORP\\mallory{i}"))
            else:
                unknown.append(timed(f"guid-unknown-{i}", f"CORP\\mallory{i}"))
                enrolled.append(timed("guid-enrolled", "CORP\\ada"))
        store.close()

    e, u = statistics.median(enrolled), statistics.median(unknown)
    diff = (u - e) / e * 100
    print(f"argon2id t={cost.time_cost} m={cost.memory_cost_kib} p={cost.parallelism}, 3 answers, {args.rounds} rounds each")
    print(f"enrolled, wrong answers: median {e * 1000:.1f} ms  (min {min(enrolled) * 1000:.1f}, max {max(enrolled) * 1000:.1f})")
    print(f"unknown (decoys):        median {u * 1000:.1f} ms  (min {min(unknown) * 1000:.1f}, max {max(unknown) * 1000:.1f})")
    print(f"relative difference of medians: {diff:+.1f}%  (goal within ±5%)")
    # Less sensitive to other load on the machine: the fastest runs, and paired rounds.
    print(f"relative difference of minimums: {(min(unknown) - min(enrolled)) / min(enrolled) * 100:+.1f}%")
    paired = statistics.median((b - a) / a for a, b in zip(enrolled, unknown)) * 100
    print(f"median paired difference: {paired:+.1f}%  (load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
