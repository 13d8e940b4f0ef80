"""Enrollments for the store tests (importable as ``store_samples``: tests/ is on sys.path)."""

from __future__ import annotations

from datetime import UTC, datetime

from kiosk.backend.model import Enrollment, StoredAnswer

GUID = "0b6d1c5e-2f2a-4c3e-9a51-6f1d2f5d7e10"
HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0c2FsdA$0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


def enrollment(guid: str = GUID, **changes) -> Enrollment:
    """Ada's three answers, enrolled on 1 May 2024; ``changes`` override any field."""
    data = dict(
        account_guid=guid,
        account_name="CORP\\ada",
        answers=(
            StoredAnswer("birth-city", "In which city or town were you born?", HASH),
            StoredAnswer("first-pet", "What was the name of your first pet?", HASH + "1"),
            StoredAnswer("first-concert", "What was the first concert you went to?", HASH + "2"),
        ),
        enrolled_at=datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC),
        last_used_at=None,
    )
    data.update(changes)
    return Enrollment(**data)
