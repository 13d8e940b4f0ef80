"""Small helpers shared by tests (importable as ``support``: tests/ is on sys.path)."""

from __future__ import annotations

from kiosk.config import AnswerHashSettings, Settings

#: argon2id at its cheapest: the tests check behaviour, bench/ measures cost.
CHEAP_HASHING = AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1)


def fast(settings: Settings, **sections: dict) -> Settings:
    """``settings`` with cheap hashing, no throttle delay, and section overrides."""
    update: dict = {"answers": CHEAP_HASHING}
    throttle = {"delay_seconds": 0.0, **sections.pop("throttle", {})}
    update["throttle"] = settings.throttle.model_copy(update=throttle)
    for name, values in sections.items():
        update[name] = getattr(settings, name).model_copy(update=values)
    return settings.model_copy(update=update)
