"""The audit trail: one JSON object per line, to a file and/or syslog (LOG_AUTHPRIV).

Each line holds ``time`` (UTC, ISO 8601), ``event``, ``outcome``, ``account``,
``terminal``, ``operator``, ``reason``, ``reference`` and ``fields`` (any
extra values). The file is opened with O_APPEND for every line and each line
is written with one ``write``, so many kiosk processes can share one file and
logrotate can move it away at any time.

Recording never raises on I/O trouble: a kiosk that cannot write its audit
log logs that to ``kiosk.audit`` and keeps serving (``healthy`` turns False).
It does raise ValueError for a field whose name mentions a password or an
answer: that is a programming error, and tests catch it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import syslog
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from kiosk.config import AuditSettings

__all__ = ["AuditLog", "new_reference", "read_events"]

log = logging.getLogger("kiosk.audit")

_FORBIDDEN = ("password", "answer")
_REFERENCE_ALPHABET = "0123456789ABCDEF"


def new_reference() -> str:
    """A short id to quote to the helpdesk, e.g. ``K-4F7A2C`` (random)."""
    return "K-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(6))


class AuditLog:
    def __init__(self, settings: AuditSettings, *, clock: Callable[[], float] = time.time) -> None:
        self.path: Path | None = Path(settings.file) if settings.file else None
        self.syslog = settings.syslog
        self._clock = clock
        self._healthy = True
        self._lock = threading.Lock()
        if self.syslog:
            syslog.openlog("kiosk", syslog.LOG_PID, syslog.LOG_AUTHPRIV)

    @property
    def healthy(self) -> bool:
        """False while the last write to the file failed."""
        return self._healthy

    def record(
        self,
        event: str,
        *,
        outcome: str,
        account: str | None = None,
        terminal: str | None = None,
        operator: str | None = None,
        reason: str = "",
        reference: str | None = None,
        **fields: str | int | float | bool | None,
    ) -> None:
        for name in fields:
            lowered = name.lower()
            if any(word in lowered for word in _FORBIDDEN):
                raise ValueError(f"audit field {name!r} looks like a secret; never log passwords or answers")
        when = datetime.fromtimestamp(self._clock(), tz=UTC)
        entry = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            "outcome": outcome,
            "account": account,
            "terminal": terminal,
            "operator": operator,
            "reason": reason,
            "reference": reference,
            "fields": {k: _plain(v) for k, v in fields.items()},
        }
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"))
        if self.path is not None:
            self._append(line)
        if self.syslog:
            try:
                syslog.syslog(syslog.LOG_INFO | syslog.LOG_AUTHPRIV, line)
            except Exception:  # syslog must never take the kiosk down
                log.exception("audit: could not send to syslog")

    def _append(self, line: str) -> None:
        assert self.path is not None
        data = (line + "\n").encode("utf-8")
        try:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except FileNotFoundError:
                self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                written = os.write(fd, data)
            finally:
                os.close(fd)
            if written != len(data):
                raise OSError(f"short write ({written} of {len(data)} bytes)")
        except OSError as exc:
            with self._lock:
                was_healthy, self._healthy = self._healthy, False
            log.error("audit: cannot write to %s: %s%s", self.path, exc,
                      "" if was_healthy else " (still failing)")
            return
        if not self._healthy:
            with self._lock:
                self._healthy = True
            log.warning("audit: writing to %s again", self.path)


def _plain(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def read_events(path: str | os.PathLike[str]) -> Iterator[dict]:
    """The events in an audit file, oldest first; lines that are not JSON
    objects (a torn last line, say) are skipped."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                yield event
