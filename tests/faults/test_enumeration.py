"""Enumeration: what the screens receive is the same for an unknown person, an
unenrolled one, an ineligible one and an enrolled one with wrong answers, up to
the final result. (Timing: bench/enumeration.py; no timing asserts here.)"""

from __future__ import annotations

import contextlib

import pytest

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import KioskError, VerificationFailed
from kiosk.backend.questions import GroupStep, SingleStep
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.messages import error_text
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),  # enrolled
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),  # not enrolled
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
    DemoUser("dave", "Dave", "Off", "Demo!Dave55", enabled=False),
)
PEOPLE = {"unknown": "zed", "unenrolled": "bob", "ineligible (admin)": "dana", "ineligible (disabled)": "dave",
          "enrolled, wrong answers": "alice"}


@pytest.fixture
def service(tmp_path):
    service = build_service(fast(demo_settings(tmp_path)), directory=DemoDirectory(USERS))
    visit = service.begin("alice", "setup")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")])
    yield service
    service.close()


def _shape(service, questions) -> list[tuple]:
    """Per question: which step it belongs to and what the answer field allows."""
    step_of = {}
    for index, step in enumerate(service.questionnaire.steps):
        for q in (step.question,) if isinstance(step, SingleStep) else step.choices:
            step_of[q.id] = (index, "single" if isinstance(step, SingleStep) else "group")
    assert all(isinstance(s, (SingleStep, GroupStep)) for s in service.questionnaire.steps)
    return [(step_of[q.id], q.min_length, q.max_length, q.case_sensitive) for q in questions]


def test_every_kind_of_person_sees_the_same_screens_and_the_same_refusal(service):
    seen = {}
    for kind, name in PEOPLE.items():
        visit = service.begin(name, "tty1")
        questions = service.challenge(visit)
        assert len({q.id for q in questions}) == len(questions) == service.questionnaire.answers_needed
        with pytest.raises(KioskError) as refusal:
            service.verify(visit, ["Atlantis", "Nobody", "Nowhere Lane"])
        error = refusal.value
        seen[kind] = (_shape(service, questions), type(error), error.code, str(error), error_text(error))
    first = next(iter(seen.values()))
    assert all(value == first for value in seen.values()), seen
    assert first[1] is VerificationFailed


def test_the_same_name_gets_the_same_questions_every_time(service):
    for name in PEOPLE.values():
        asked = {tuple(q.id for q in service.challenge(service.begin(name, "tty1"))) for _ in range(3)}
        assert len(asked) == 1, name


def test_the_audit_log_tells_them_apart_but_the_person_cannot(service, tmp_path):
    from kiosk.backend.audit import read_events

    for name in PEOPLE.values():
        visit = service.begin(name, "tty1")
        service.challenge(visit)
        with pytest.raises(VerificationFailed):
            service.verify(visit, ["a", "b", "c"])
    reasons = [e["reason"] for e in read_events(tmp_path / "audit.jsonl") if e["event"] == "verify"]
    assert reasons[0] == "unknown user" and reasons[1] == "not enrolled"
    assert reasons[2].startswith("ineligible") and reasons[3].startswith("ineligible")
    assert reasons[4] == "wrong answers"


# --- the directory work of every path: the same calls, the same LDAP operations -------------
#
# Counted, not timed (time: bench/enumeration.py). Per step of a reset visit
# (identify, challenge, verify) and an enrollment visit (identify,
# prove_password), every kind of person makes the same Directory calls; on
# Samba, the same LDAP operations with the same scopes and attributes, and the
# decoys read a real account's token and bind as a real (disabled) account.

DIRECTORY_METHODS = frozenset(
    {
        "find_account", "refresh", "verify_password", "bind_as_nobody", "unlock", "reset_password", "change_password",
        "password_policy", "search_accounts", "accounts", "read_attributes", "update_attributes", "matches",
    }
)


BINDS = {"verify_password": "a bind as someone", "bind_as_nobody": "a bind as someone"}


class Recorder:
    """Directory calls (and, with ``ldap``, ldap3 operations) in order, per step."""

    def __init__(self) -> None:
        self.events: list[tuple] = []


class CountingDirectory:
    def __init__(self, inner, recorder: Recorder) -> None:
        self._inner, self._recorder = inner, recorder

    def __getattr__(self, name):
        attribute = getattr(self._inner, name)
        if name not in DIRECTORY_METHODS:
            return attribute

        def counted(*args, **kwargs):
            # A nobody's refused bind stands for a person's: the same call to the DC.
            self._recorder.events.append(("call", BINDS.get(name, name)))
            return attribute(*args, **kwargs)

        return counted


def _steps(service, recorder: Recorder, name: str) -> dict[str, list[tuple]]:
    """What each step of a reset visit and an enrollment visit asked of the directory."""
    seen: dict[str, list[tuple]] = {}

    def step(label, action):
        recorder.events = []
        with contextlib.suppress(KioskError):
            action()
        seen[label] = recorder.events

    holder = {}
    step("reset: identify", lambda: holder.setdefault("reset", service.begin(name, "tty1")))
    step("reset: challenge", lambda: service.challenge(holder["reset"]))
    step("reset: verify", lambda: service.verify(holder["reset"], ["Atlantis", "Nobody", "Nowhere Lane"]))
    step("enrollment: identify", lambda: holder.setdefault("enroll", service.begin(name, "tty1")))
    step("enrollment: prove_password", lambda: service.prove_password(holder["enroll"], "Wrong!Bench-1"))
    return seen


def test_every_kind_of_person_makes_the_same_directory_calls_per_step(tmp_path):
    recorder = Recorder()
    settings = fast(demo_settings(tmp_path), throttle={"account_max_failures": 1000, "terminal_max_failures": 1000})
    service = build_service(settings, directory=CountingDirectory(DemoDirectory(USERS), recorder))
    visit = service.begin("alice", "setup")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")])
    try:
        seen = {kind: _steps(service, recorder, name) for kind, name in PEOPLE.items()}
    finally:
        service.close()
    first = seen["enrolled, wrong answers"]
    assert first["enrollment: prove_password"] == [("call", "a bind as someone")]
    assert first["reset: identify"][0] == ("call", "find_account")
    for kind, steps in seen.items():
        assert steps == first, kind


@pytest.fixture
def ldap_operations(monkeypatch):
    """Every ldap3 search and bind of this process: (operation, scope, attributes)
    and what a tokenGroups search returned / whom a bind named."""
    from ldap3 import Connection

    recorder = Recorder()
    search, bind = Connection.search, Connection.bind

    def counted_search(self, base, search_filter, *args, **kwargs):
        result = search(self, base, search_filter, *args, **kwargs)
        attributes = tuple(sorted(kwargs.get("attributes") or ()))
        tokens = None
        if attributes == ("tokenGroups",):
            entries = [e for e in self.response or [] if e.get("type") == "searchResEntry"]
            tokens = bool(entries and (entries[0].get("raw_attributes") or {}).get("tokenGroups"))
        recorder.events.append(("search", kwargs.get("search_scope"), attributes, tokens))
        return result

    def counted_bind(self, *args, **kwargs):
        recorder.events.append(("bind", "as service" if self.user == recorder.service_user else "as a person"))
        recorder.bound.append(self.user)
        return bind(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "search", counted_search)
    monkeypatch.setattr(Connection, "bind", counted_bind)
    recorder.bound = []
    return recorder


def test_on_samba_every_kind_makes_the_same_ldap_operations_per_step(lab, lab_admin, tmp_path, ldap_operations):
    import secrets

    import lab as lablib
    from kiosk.lab import lab_settings_from_env

    made = {
        "enrolled, wrong answers": lablib.create_user(lab, lab_admin, groups=[lab.staff_team_dn]),
        "unenrolled": lablib.create_user(lab, lab_admin, groups=[lab.staff_team_dn]),
        "ineligible (admin)": lablib.create_user(
            lab, lab_admin, groups=[lab.staff_team_dn, f"CN=Domain Admins,CN=Users,{lab.base_dn}"]
        ),
    }
    names = {kind: sam for kind, (_, sam, _) in made.items()}
    names["unknown"] = f"t-{secrets.token_hex(4)}"
    settings = fast(lab_settings_from_env(lab.env, tmp_path),
                    throttle={"account_max_failures": 1000, "terminal_max_failures": 1000})
    service = build_service(settings)
    ldap_operations.service_user = settings.directory.service_user
    try:
        enrolled_dn, enrolled_sam, enrolled_password = made["enrolled, wrong answers"]
        visit = service.begin(enrolled_sam, "setup")
        service.prove_password(visit, enrolled_password)
        service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")])
        _steps(service, ldap_operations, names["unknown"])  # a first unknown, before any other real one
        ldap_operations.bound.clear()
        seen = {}
        for kind in ("unknown", "enrolled, wrong answers", "unenrolled", "ineligible (admin)", "unknown"):
            seen[kind] = _steps(service, ldap_operations, names[kind])
    finally:
        service.close()
        for dn, _, _ in made.values():
            lablib.delete_user(lab_admin, dn)
    first = seen["enrolled, wrong answers"]
    assert [e[0] for e in first["reset: identify"]].count("search") == 3  # account, its token, the token's groups
    assert ("search", "BASE", ("tokenGroups",), True) in first["reset: identify"]
    assert first["enrollment: prove_password"] == [("bind", "as a person")]
    for kind, steps in seen.items():
        assert steps == first, kind  # the decoy token is a real account's too (True above)
    # The refused bind for a nobody names a real account that no one signs in as, never a person's.
    people = {dn.lower() for dn, _, _ in made.values()}
    nobody = [user for user in ldap_operations.bound if user and user.lower() not in people and "\\" not in user]
    assert nobody and all(user.lower().startswith("cn=guest,cn=users,") for user in nobody), nobody


@pytest.mark.parametrize("kind", list(PEOPLE))
def test_a_names_look_up_answers_after_the_same_time_for_everyone(tmp_path, kind):
    """The directory says "no such name" sooner than it finds a person; the
    look-up is padded to ``throttle.identify_seconds`` from its start, so the
    screen after the name comes after the same time whoever was typed."""
    settings = fast(demo_settings(tmp_path), throttle={"identify_seconds": 0.25})
    service = build_service(settings, directory=DemoDirectory(USERS))
    waits: list[float] = []
    throttle = service.backend.throttle
    throttle._sleep = waits.append  # the pause is recorded, not slept
    ticks = iter([100.0, 100.004])  # the look-up took 4 ms
    throttle._monotonic = lambda: next(ticks)
    try:
        service.begin(PEOPLE[kind], "tty1")
    finally:
        service.close()
    assert waits == [pytest.approx(0.246)]
