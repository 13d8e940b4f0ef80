"""Giving the demo directory its people: enrolled answers and a locked account.

Seeding is a use of the kiosk, not part of the directory: the demo's people are
enrolled through the real enrollment path (``SelfService``), into the store the
kiosk uses, then those meant to be locked are locked (a locked account can't
prove its password). ``kiosk demo`` seeds a fresh directory and store;
``kiosk.backend.wiring`` seeds a demo directory named by a config file
(``directory.kind = "demo"``) the same way, once per store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.backend.directory.demo import DEMO_DNS, DEMO_NETBIOS, DemoDirectory, DemoUser
from kiosk.backend.errors import AnswerRejected

if TYPE_CHECKING:
    from kiosk.backend.service import SelfService

__all__ = ["seed_configured_demo", "seed_demo"]

#: Added to the hint of a demo directory named by a config: each kiosk session
#: (one process per terminal or SSH session) has its own in-memory directory.
PER_SESSION = " Each session starts afresh: passwords and locks are back as listed."


def seed_demo(service: SelfService, directory: DemoDirectory) -> None:
    """Enroll the demo's people through the real enrollment path, then lock
    those meant to be locked. Someone already enrolled in the store is left as
    they are; someone whose answers the configured questions cannot take is
    left unenrolled. The directory's hint then says what is true."""
    enrolled = [user for user in directory.users if user.answers and _enroll(service, directory, user)]
    for user in directory.users:
        if user.locked:
            directory.lock_out(user.sam)
        if user.never_logged_on and user.attributes.get("employeeID"):
            _issue_demo_code(service, user)
    if len(enrolled) < sum(1 for user in directory.users if user.answers):
        directory.demo_hint = _hint_without_enrollments(directory.users)


def seed_configured_demo(service: SelfService, directory: DemoDirectory) -> None:
    """A demo directory named by a config file: seeded like ``kiosk demo``'s,
    and its hint says that the directory lives as long as the session."""
    seed_demo(service, directory)
    if service.default_domain != DEMO_NETBIOS:
        directory.demo_hint += f" Type names as alice@{DEMO_DNS} (the default domain is not {DEMO_NETBIOS})."
    directory.demo_hint += PER_SESSION


def _enroll(service: SelfService, directory: DemoDirectory, user: DemoUser) -> bool:
    """True once ``user`` is enrolled (now or before)."""
    # By UPN: found whatever domains the configuration names.
    visit = service.begin(f"{user.sam}@{DEMO_DNS}", "demo-setup")
    try:
        account = visit.account
        if account is None:
            return False
        if service.backend.store.get(account.guid) is not None:
            return True
        try:
            service.questionnaire.validate_selection(list(user.answers))
        except AnswerRejected:
            return False  # the configured questions are not the demo's
        service.prove_password(visit, user.password)
        service.enroll(visit, list(user.answers.items()))
        return True
    finally:
        service.end(visit)


def demo_activation_code(user: DemoUser) -> str:
    """The demo's published activation code for a new account (a real one is random)."""
    return f"DEMO-{user.attributes['employeeID']}"


def _issue_demo_code(service: SelfService, user: DemoUser) -> None:
    from datetime import UTC, datetime, timedelta

    from kiosk.backend.activation import code_digest

    visit = service.begin(f"{user.sam}@{DEMO_DNS}", "demo-setup")
    if visit.account is not None:
        store = service.backend.store
        expires = datetime.now(UTC) + timedelta(days=3650)
        store.put_activation_code(visit.account.guid, code_digest(store, demo_activation_code(user)), expires, "demo")
    service.end(visit)


def _hint_without_enrollments(users: tuple[DemoUser, ...]) -> str:
    """The hint when the demo's answers could not be enrolled (other questions)."""
    tries = []
    for user in users:
        if user.groups:
            tries.append(f"{user.sam} (an admin: always refused)")
        elif user.locked:
            tries.append(f"{user.sam} (locked)")
        elif user.password:
            tries.append(f"{user.sam} (password {user.password}: set up questions)")
        elif user.attributes.get("employeeID"):
            tries.append(f"{user.sam} (new account: activate it with the code {demo_activation_code(user)})")
    return (
        "DEMO - not a real domain. Nobody is enrolled: the configured questions are not the demo's. "
        f"Try: {', '.join(tries)}."
    )

