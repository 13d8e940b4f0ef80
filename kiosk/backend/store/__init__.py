"""Enrollment stores; ``open_store`` picks one from ``store.url``."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.backend.store.base import EnrollmentStore

__all__ = ["EnrollmentStore", "is_shared_store", "open_store"]


def _sqlite(url: str, rest: str, migrate: bool) -> EnrollmentStore:
    from kiosk.backend.store.sqlite import SqliteStore

    return SqliteStore(rest, migrate=migrate)


def _postgres(url: str, rest: str, migrate: bool) -> EnrollmentStore:
    # Imported here, not above: psycopg costs start-up time a SQLite kiosk must not pay.
    try:
        from kiosk.backend.store.postgres import PostgresStore
    except ImportError:
        from kiosk.backend.errors import ConfigError

        raise ConfigError(
            "store.url names PostgreSQL, but psycopg is not installed: "
            "pip install 'sspr-kiosk[postgresql]' into the kiosk's venv"
        ) from None
    return PostgresStore(url, migrate=migrate)


#: scheme -> opener(url, what follows "://", migrate)
_OPENERS: dict[str, Callable[[str, str, bool], EnrollmentStore]] = {
    "sqlite": _sqlite,
    "postgresql": _postgres,
    "postgres": _postgres,
}


def open_store(url: str, *, migrate: bool = True) -> EnrollmentStore:
    """``sqlite:///absolute/path.db`` (the default; the path is what follows ``://``)
    or ``postgresql://user@host/database?sslmode=verify-full`` (shared by several hosts).

    The schema is created or migrated on open; ``migrate=False`` opens the store
    as it is, to look at it (``kiosk check``, ``kiosk store migrate``).
    """
    from kiosk.backend.errors import ConfigError
    from kiosk.backend.store.common import redact_url

    scheme, sep, rest = url.partition("://")
    opener = _OPENERS.get(scheme.lower()) if sep else None
    if opener is None:
        raise ConfigError(
            f"store.url: unsupported store {redact_url(url)!r}; expected sqlite:///PATH or postgresql://…"
        )
    return opener(url, rest, migrate)


def is_shared_store(url: str) -> bool:
    """True for a database server (several hosts), False for a local SQLite file."""
    return url.partition("://")[0].lower() in ("postgresql", "postgres")
