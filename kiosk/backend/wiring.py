"""Wiring: the configured collaborators, and the use cases built on them.

The one module that knows both the adapters (directory, store, hasher,
throttle, audit) and the use cases (``SelfService``, ``Activation``,
``Helpdesk``); the use cases know only ``usecase.Backend``. Heavy imports
(ldap3, argon2, sqlite3, psycopg) happen in ``open_backend``, after the first
frame. A demo directory named by the configuration (``directory.kind =
"demo"``) is seeded here, as ``kiosk demo`` seeds its own (``demo_seed``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.backend.usecase import Backend

if TYPE_CHECKING:
    from kiosk.backend.activation import Activation
    from kiosk.backend.audit import AuditLog
    from kiosk.backend.directory.base import Directory
    from kiosk.backend.notices import Notices
    from kiosk.backend.store.base import EnrollmentStore
    from kiosk.backend.helpdesk import Helpdesk
    from kiosk.backend.service import SelfService
    from kiosk.config import Settings

__all__ = ["Backend", "build_activation", "build_helpdesk", "build_service", "open_backend", "open_notices"]


def open_backend(settings: Settings, *, directory: Directory | None = None) -> Backend:
    """Open the configured directory (or use the one given), store, hasher,
    throttle and audit log."""
    from kiosk.backend.answers import AnswerHasher, configured_pepper
    from kiosk.backend.audit import AuditLog
    from kiosk.backend.directory import open_directory
    from kiosk.backend.store import open_store
    from kiosk.backend.throttle import Throttle

    directory = (
        directory if directory is not None
        else open_directory(settings.directory, mail_attribute=settings.mail.address_attribute)
    )
    store = open_store(settings.store.url)
    audit = AuditLog(settings.audit)
    return Backend(
        directory=directory,
        store=store,
        hasher=AnswerHasher(settings.answers, configured_pepper(settings.answers)),
        throttle=Throttle(store, settings.throttle),
        audit=audit,
        notices=open_notices(settings, store, audit),
    )


def open_notices(settings: Settings, store: EnrollmentStore, audit: AuditLog) -> Notices | None:
    """The notices after each change, sent through the configured relay (None: mail is off)."""
    if not settings.mail.enabled:
        return None
    from kiosk.backend.notices import Notices

    return Notices(settings.mail, store, audit)


def build_service(settings: Settings, *, directory: Directory | None = None) -> SelfService:
    """The kiosk's use case on the configured backend (or on ``directory``)."""
    from kiosk.backend.service import SelfService

    service = SelfService(settings, open_backend(settings, directory=directory))
    if directory is None and settings.directory.kind == "demo":
        _seed_configured_demo(service)
    return service


def build_activation(settings: Settings, *, directory: Directory | None = None) -> Activation:
    """Activation on its own backend (the kiosk builds it on its service's)."""
    from kiosk.backend.activation import Activation

    service = build_service(settings, directory=directory)
    return Activation(settings, service.backend)


def build_helpdesk(
    settings: Settings, *, operator: str, terminal: str, directory: Directory | None = None
) -> Helpdesk:
    """The helpdesk; callers are verified by a SelfService on the same backend."""
    from kiosk.backend.helpdesk import Helpdesk

    service = build_service(settings, directory=directory)
    return Helpdesk(settings, service.backend, verification=service, operator=operator, terminal=terminal)


def _seed_configured_demo(service: SelfService) -> None:
    """A demo directory opened from the configuration gets the demo's people."""
    from kiosk.backend.directory.demo import DemoDirectory

    directory = service.backend.directory
    if isinstance(directory, DemoDirectory):
        from kiosk.backend.demo_seed import seed_configured_demo

        seed_configured_demo(service, directory)
