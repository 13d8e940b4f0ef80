"""Enrollment stores; ``open_store`` picks one from ``store.url``."""

from __future__ import annotations

from kiosk.backend.store.base import EnrollmentStore

__all__ = ["EnrollmentStore", "open_store"]


def open_store(url: str) -> EnrollmentStore:
    """``sqlite:///absolute/path.db`` (the default; the path is what follows ``://``)."""
    from kiosk.backend.errors import ConfigError

    scheme, sep, rest = url.partition("://")
    if scheme == "sqlite" and sep:
        from kiosk.backend.store.sqlite import SqliteStore

        return SqliteStore(rest)
    raise ConfigError(f"store.url: unsupported store {url!r}; expected sqlite:///PATH")
