"""The enrollment store protocol: enrolled answers and failure counters.

One store holds both, because throttling must be exactly as shared as the
enrollments are: every kiosk process on a host (SQLite) or every host
(PostgreSQL) sees the same counters. Every method may raise ``StoreError``;
callers fail closed on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Protocol

from kiosk.backend.model import Enrollment, OutboxNotice, TotpEnrollment


class EnrollmentStore(Protocol):
    def get(self, account_guid: str) -> Enrollment | None: ...

    def put(self, enrollment: Enrollment) -> None:
        """Store a complete enrollment, replacing any earlier one atomically."""

    def delete(self, account_guid: str) -> bool:
        """Remove an enrollment (revoke). True if there was one."""

    def mark_used(self, account_guid: str, when: datetime) -> None: ...

    def replace_hash(self, account_guid: str, question_id: str, answer_hash: str) -> None:
        """Swap one answer's hash (re-hash after the argon2 parameters changed)."""

    def enrollments(self) -> Iterator[Enrollment]: ...

    def count(self) -> int: ...

    # --- failure counters, for kiosk.backend.throttle --------------------------

    def shared_time(self) -> float | None:
        """Now (seconds since the epoch) by the clock every host sharing this store
        reads (PostgreSQL: the database server's), so that failure times written
        and compared by several hosts agree whatever their own clocks say; None
        for a store of one host (SQLite), whose own clock is then everyone's."""

    def add_failure(self, key: str, now: float, window_seconds: float) -> tuple[int, int]:
        """Atomically record one failure for ``key`` and forget those older than
        the window. Returns (id of this failure, failures now in the window).
        Records of every key older than ``common.FAILURE_RETENTION_SECONDS`` are
        pruned too, on a schedule kept in the store (``prune_failures``)."""

    def prune_failures(self, now: float) -> None:
        """Forget old failure records of every key, if the store is due for it."""

    def remove_failure(self, key: str, failure_id: int) -> None:
        """Take back one recorded failure (the attempt turned out to succeed)."""

    def failures(self, key: str, now: float, window_seconds: float) -> tuple[int, float | None]:
        """(failures in the window, time of the newest one or None)."""

    def clear_failures(self, key: str) -> None: ...

    def site_secret(self, name: str) -> bytes:
        """A random 32-byte secret made on first use and kept for good (e.g. the
        key that picks decoy questions, so they can't be predicted offline)."""

    # --- activation codes (kiosk activation issue) ----------------------------------

    def put_activation_code(self, account_guid: str, digest: bytes, expires_at: datetime, issued_by: str) -> None:
        """Keep the code's keyed digest for the account, replacing any earlier one."""

    def activation_code(self, account_guid: str) -> tuple[bytes, datetime, str] | None:
        """(digest, expires_at, issued_by) of the account's code, expired or not."""

    def take_activation_code(self, account_guid: str, digest: bytes, now: datetime) -> bool:
        """Use the code up: delete it if it is this digest and unexpired; True if it was."""

    # --- the outbox of notices (kiosk.backend.notices) ------------------------------

    def queue_notice(self, notice: OutboxNotice) -> None:
        """Add a notice to the outbox, due now."""

    def claim_notices(self, claim: str, now: datetime, lease_seconds: float, limit: int) -> list[OutboxNotice]:
        """Claim due notices nobody holds, for ``lease_seconds``; disjoint across hosts."""

    def notice_done(self, notice_id: int, claim: str) -> bool:
        """Remove a claimed notice (sent or given up); False if the claim was lost."""

    def notice_failed(self, notice_id: int, claim: str, retry_at: datetime, error: str) -> bool:
        """Give a claimed notice back for a retry at ``retry_at``."""

    def notices_waiting(self) -> int: ...

    # --- authenticator apps (TOTP) ---------------------------------------------------

    def put_totp(self, totp: TotpEnrollment) -> None:
        """Keep the person's authenticator app, replacing any earlier one."""

    def totp(self, account_guid: str) -> TotpEnrollment | None: ...

    def use_totp_step(self, account_guid: str, step: int) -> bool:
        """Accept a code of time step ``step`` once: True (and kept as the last
        step) only if it is later than the last accepted one (no replay)."""

    def use_recovery_code(self, account_guid: str, digest: str) -> bool:
        """Use one recovery code up: True if its digest was there (now removed)."""

    def delete_totp(self, account_guid: str) -> bool:
        """Forget the person's authenticator app. True if there was one."""

    # --- reminders (kiosk.backend.reminders) ----------------------------------------

    def claim_reminder(
        self, account_guid: str, kind: str, now: datetime, every_seconds: float, notices: list[OutboxNotice]
    ) -> bool:
        """Record that ``kind`` is reminded to the person now, unless it was
        less than ``every_seconds`` ago, and queue ``notices`` in the same
        transaction; True if this caller did (exactly one of several at once).
        Reminders use it, and the alerts after failed attempts (kinds ``alert_*``)."""

    def reminder_sent(self, account_guid: str, kind: str) -> datetime | None:
        """When ``kind`` was last reminded to the person (None: never)."""

    # --- moving a site to another store (kiosk store copy) ------------------------

    def site_secrets(self) -> dict[str, bytes]:
        """Every site secret made so far, by name."""

    def adopt_site_secret(self, name: str, value: bytes) -> bytes:
        """Keep ``value`` as the secret ``name`` unless the store already has
        one; return the one kept (race-free: made once, whoever comes first)."""

    def holds(self) -> dict[str, float]:
        """Every throttle hold (keys starting ``common.HOLD_PREFIX``): key -> when recorded."""

    def adopt_hold(self, key: str, at: float) -> bool:
        """Record the hold ``key`` unless there is one; True if added."""

    def totps(self) -> Iterator[TotpEnrollment]:
        """Every authenticator app (secrets as stored: encrypted)."""

    def reminders(self) -> list[tuple[str, str, datetime]]:
        """Every reminder sent: (account guid, kind, when last)."""

    def adopt_reminder(self, account_guid: str, kind: str, last_sent: datetime) -> bool:
        """Keep the later of this and the store's own time; True if it moved."""

    def activation_codes(self) -> list[tuple[str, bytes, datetime, str]]:
        """Every activation code: (account guid, digest, expires_at, issued_by)."""

    def adopt_activation_code(self, account_guid: str, digest: bytes, expires_at: datetime, issued_by: str) -> bool:
        """Keep this code unless the store's own expires later; True if kept."""

    def outbox(self) -> list[tuple[OutboxNotice, datetime]]:
        """Every notice waiting in the outbox, with when it is due."""

    def adopt_notice(self, notice: OutboxNotice, due_at: datetime) -> bool:
        """Add a waiting notice unless one with its Message-ID is there; True if added."""

    # --- schema ----------------------------------------------------------------------

    def schema_version(self) -> int:
        """The version of the store's schema (``common.MIGRATIONS``); 0 when new."""

    def close(self) -> None: ...
