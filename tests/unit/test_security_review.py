"""Regression tests for the security review (names, keys, questionnaire shape,
answers, DNs): each failed on the code the review was made against.

Demo directory and a real SQLite store; the AD side of the same stories is in
tests/integration/test_security_review_ad.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import unicodedata
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type

from kiosk.backend.answers import AnswerHasher, normalise
from kiosk.backend.directory.demo import DEMO_DNS, DemoDirectory, DemoUser
from kiosk.backend.eligibility import check_eligibility
from kiosk.backend.errors import AnswerRejected, Throttled, VerificationFailed
from kiosk.backend.model import Account, Question
from kiosk.backend.questions import check_answer
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.config import EligibilitySettings
from support import CHEAP_HASHING, fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),
    DemoUser("carol", "Carol", "Clark", "Demo!Carol3"),
)
ALICE_ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
WRONG = ["Atlantis", "Nobody", "Nowhere Lane", "Nothing here"]


def make_service(workdir: Path, directory: DemoDirectory, **sections) -> SelfService:
    return build_service(fast(demo_settings(workdir), **sections), directory=directory)


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory(USERS)


@pytest.fixture
def service(tmp_path, directory):
    service = make_service(tmp_path, directory)
    yield service
    service.close()


def fail_once(service: SelfService, name: str, terminal: str) -> None:
    visit = service.begin(name, terminal)
    service.challenge(visit)
    with pytest.raises(VerificationFailed):
        service.verify(visit, WRONG)


def throttled(service: SelfService, name: str) -> bool:
    visit = service.begin(name, "fresh-terminal")
    service.challenge(visit)
    try:
        service.verify(visit, WRONG)
    except Throttled:
        return True
    except VerificationFailed:
        return False
    raise AssertionError("wrong answers were accepted")


# --- 2. user names cannot be told apart by their decoys or their throttle ------------------


@pytest.mark.parametrize("name", ["bob", "zed"], ids=["exists", "unknown"])
def test_an_unknown_domain_never_shares_the_throttle_of_the_bare_name(service, name):
    # Before: five failures as NOSUCHDOMAIN\zed throttled zed (same key), but
    # NOSUCHDOMAIN\bob never throttled bob (objectGUID key): existence showed.
    for i in range(5):
        fail_once(service, f"NOSUCHDOMAIN\\{name}", terminal=f"t{i}")
    assert not throttled(service, name)


def test_decoys_of_an_unknown_domain_are_unrelated_to_the_bare_name(service):
    # Before: NOSUCHDOMAIN\x got exactly x's decoys when x did not exist (and,
    # mostly, other questions when it did): 39 of 43 accounts told apart.
    names = [f"nobody{i}" for i in range(30)]
    same = [
        [q.id for q in service.challenge(service.begin(n, "t"))]
        == [q.id for q in service.challenge(service.begin(f"NOSUCHDOMAIN\\{n}", "t"))]
        for n in names
    ]
    assert not all(same)  # 10 possible decoy sets: all 30 alike only if keyed alike


def test_the_forms_of_one_name_share_one_key_whether_or_not_it_exists(service):
    for name in ("alice", "zed"):
        forms = [name, f"DEMO\\{name}", f"demo\\{name.upper()}", f"{name}@{DEMO_DNS}", f" {name} ",
                 f"{name.upper()}@{DEMO_DNS.upper()}", unicodedata.normalize("NFKC", name)]
        keys = {service.begin(form, "t").throttle_key for form in forms}
        assert len(keys) == 1, (name, keys)
        decoys = {tuple(q.id for q in service.challenge(service.begin(form, "t"))) for form in forms}
        assert len(decoys) == 1


def test_one_normalisation_for_lookups_and_keys():
    from kiosk.backend.identity import canonical_name

    domains = [("DEMO", DEMO_DNS)]
    full_width = "ｚｅｄ"  # NFKC makes it "zed"; the directory is asked for "zed" too
    assert canonical_name(full_width, domains, "DEMO") == canonical_name("zed", domains, "DEMO")
    # Text that names no account the directory could find is keyed by all of it.
    assert canonical_name("NOSUCHDOMAIN\\zed", domains, "DEMO") != canonical_name("zed", domains, "DEMO")
    assert canonical_name("zed@elsewhere.example", domains, "DEMO") != canonical_name("zed", domains, "DEMO")


# --- 4. nothing typed as a name is kept as typed, nor as an unkeyed digest -----------------


def _unkeyed_digests(typed: str) -> set[str]:
    forms = {typed, typed.strip(), typed.lower(), typed.casefold(), typed.strip().casefold(),
             unicodedata.normalize("NFKC", typed).strip().casefold()}
    found = set()
    for form in forms:
        for algorithm in ("sha256", "sha1", "md5", "blake2b"):
            digest = hashlib.new(algorithm, form.encode()).hexdigest()
            found |= {digest, digest[:12], digest[:16]}
    return found


def test_a_password_typed_as_the_name_leaves_no_trace_in_the_store_or_the_audit(tmp_path, directory):
    typed = "Tr0ub4dor&3-Horse"
    service = make_service(tmp_path, directory)
    visit = service.begin(typed, "tty1")
    service.challenge(visit)
    with pytest.raises(VerificationFailed):
        service.verify(visit, WRONG)
    visit = service.begin(typed, "tty1")
    with pytest.raises(Exception):  # noqa: B017 - whatever the refusal, nothing may be kept
        service.prove_password(visit, "whatever")
    service.close()

    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    text = written.decode("utf-8", "replace").lower()
    for form in (typed, typed.lower()):
        assert form.lower() not in text
    for digest in _unkeyed_digests(typed):
        assert digest not in text, digest
    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events and all(e["account"].startswith("unknown:") for e in events)
    assert len({e["account"] for e in events}) == 1  # still correlates repeated tries


# --- 9. the questionnaire's shape does not tell enrolled people apart ----------------------


def _shape(service: SelfService, questions) -> None:
    service.questionnaire.validate_selection([q.id for q in questions])


@pytest.mark.parametrize(
    "questionnaire",
    [
        # a single question added
        [{"question": "birth-city"}, {"question": "favourite-teacher"},
         {"group": "Memories", "pick": 2, "choose_from": ["first-pet", "first-school", "childhood-street", "first-concert"]}],
        # a group that asks for more
        [{"question": "birth-city"},
         {"group": "Memories", "pick": 3, "choose_from": ["first-pet", "first-school", "childhood-street", "first-concert", "favourite-teacher"]}],
    ],
    ids=["question-added", "pick-raised"],
)
def test_after_the_questionnaire_changes_everybody_is_asked_todays_shape(tmp_path, directory, questionnaire):
    before = make_service(tmp_path, directory)
    visit = before.begin("alice", "t")
    before.prove_password(visit, "Demo!Alice1")
    before.enroll(visit, ALICE_ANSWERS)
    before.close()

    after = make_service(tmp_path, directory, questions={"questionnaire": questionnaire})
    asked = {name: after.challenge(after.begin(name, "t")) for name in ("alice", "bob", "zed")}
    assert len({len(q) for q in asked.values()}) == 1  # before: alice 3, the others 4
    for questions in asked.values():
        _shape(after, questions)

    # Alice still verifies with what she enrolled; the new slot is not compared.
    visit = after.begin("alice", "t")
    questions = after.challenge(visit)
    mine = dict(ALICE_ANSWERS)
    after.verify(visit, [mine.get(q.id, "anything at all") for q in questions])
    assert visit.verified
    # ... and only her own answers count.
    visit = after.begin("alice", "t")
    questions = after.challenge(visit)
    with pytest.raises(VerificationFailed):
        after.verify(visit, ["wrong" if q.id == "birth-city" else mine.get(q.id, "x") for q in questions])
    after.close()


def test_an_enrollment_that_can_no_longer_verify_looks_like_everybody_else(tmp_path, directory):
    before = make_service(tmp_path, directory)
    visit = before.begin("alice", "t")
    before.prove_password(visit, "Demo!Alice1")
    before.enroll(visit, ALICE_ANSWERS)
    before.close()
    # first-pet leaves the questionnaire: with min_remaining_to_verify = 0 Alice cannot verify.
    after = make_service(tmp_path, directory, questions={"questionnaire": [
        {"question": "birth-city"},
        {"group": "Memories", "pick": 2, "choose_from": ["first-school", "childhood-street", "first-concert", "favourite-teacher"]},
    ]})
    visit = after.begin("alice", "t")
    questions = after.challenge(visit)
    _shape(after, questions)
    with pytest.raises(VerificationFailed):
        after.verify(visit, ["Paris", "Rex", "Hillside"])
    after.close()


# --- 14. DNs are compared RDN by RDN -----------------------------------------------------


def test_an_escaped_comma_does_not_make_an_ou_look_like_a_parent():
    staff = "OU=Staff,DC=kiosk,DC=test"
    rules = EligibilitySettings(allowed_ous=[staff])
    eve = Account(guid="g", dn="CN=eve,OU=Guests\\,OU=Staff,DC=kiosk,DC=test", sam="eve", domain="KIOSK")
    assert not check_eligibility(eve, rules).allowed
    hex_escaped = dataclasses.replace(eve, dn="CN=eve,OU=Guests\\2COU=Staff,DC=kiosk,DC=test")
    assert not check_eligibility(hex_escaped, rules).allowed
    real = dataclasses.replace(eve, dn="CN=eve, ou=STAFF ,dc=Kiosk,DC=test")
    assert check_eligibility(real, rules).allowed
    # A group whose name holds an escaped comma is not the group named by its tail.
    denied = "CN=Kiosk Denied,OU=Groups,DC=kiosk,DC=test"
    lookalike = dataclasses.replace(
        eve, dn=f"CN=eve,{staff}", groups=frozenset({"cn=x\\,cn=kiosk denied,ou=groups,dc=kiosk,dc=test"}))
    assert check_eligibility(lookalike, EligibilitySettings(allowed_ous=[staff], denied_groups=[denied])).allowed
    member = dataclasses.replace(lookalike, groups=frozenset({"CN=Kiosk\\20Denied,OU=Groups,DC=kiosk,DC=test"}))
    assert not check_eligibility(member, EligibilitySettings(allowed_ous=[staff], denied_groups=[denied])).allowed


# --- 19. non-answers are refused; punctuation typed either way is one answer ----------------

PET = Question("first-pet", "What was the name of your first pet?")
CITY = Question("birth-city", "In which city or town were you born?")


@pytest.mark.parametrize("answer", ["n/a", "N.A.", "idk", "IDK!", "123", "none", "???", "xxx", "0000", "I don't know"])
def test_non_answers_are_refused_at_enrollment_with_a_reason(answer):
    with pytest.raises(AnswerRejected) as refused:
        check_answer(CITY, answer)
    assert refused.value.reason  # shown on the enroll screen as it is


def test_non_answers_are_refused_through_the_service(service):
    visit = service.begin("alice", "t")
    service.prove_password(visit, "Demo!Alice1")
    with pytest.raises(AnswerRejected, match="anybody could guess"):
        service.check_answer(visit, "birth-city", "n/a")
    with pytest.raises(AnswerRejected):
        service.enroll(visit, [("birth-city", "idk"), ("first-pet", "Rex"), ("first-school", "Hillside")])


@pytest.mark.parametrize(
    ("enrolled", "typed"),
    [("St. Louis", "St Louis"), ("O'Brien", "OBrien"), ("Saint-Denis", "Saint Denis"), ("Main St.", "main st")],
)
def test_punctuation_typed_either_way_is_the_same_answer(enrolled, typed):
    hasher = AnswerHasher(CHEAP_HASHING)
    assert hasher.verify(CITY, hasher.hash(CITY, enrolled), typed)


def test_hashes_made_before_punctuation_counted_still_verify_and_are_upgraded(tmp_path, directory):
    service = make_service(tmp_path, directory)
    visit = service.begin("alice", "t")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, [("birth-city", "St. Louis"), ("first-pet", "Rex"), ("first-school", "Hillside")])
    # Rewrite the stored hashes as the old code made them: argon2id of normalisation 1.
    old = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, hash_len=32, salt_len=16, type=Type.ID)
    guid = visit.account.guid
    for question_id, answer in (("birth-city", "St. Louis"), ("first-pet", "Rex"), ("first-school", "Hillside")):
        service._store.replace_hash(guid, question_id, old.hash(normalise(answer, version=1)))
    assert not any(a.answer_hash.startswith("n2$") for a in service._store.get(guid).answers)

    def answer(city: str) -> None:
        visit = service.begin("alice", "t")
        service.challenge(visit)
        service.verify(visit, [city, "Rex", "Hillside"])

    with pytest.raises(VerificationFailed):
        answer("St Louis")  # an old hash is compared as it was made
    answer("st. louis")
    assert all(a.answer_hash.startswith("n2$") for a in service._store.get(guid).answers)
    answer("St Louis")  # upgraded: punctuation no longer counts
    service.close()


# --- 20. a Visit's repr does not show what was typed as the name ---------------------------


def test_a_visits_repr_does_not_show_the_typed_name(service):
    visit = service.begin("Secret-Passw0rd!", "tty1")
    assert "Secret-Passw0rd!" not in repr(visit)
    assert "secret-passw0rd" not in repr(visit).lower()
    known = service.begin("alice", "tty1")
    assert "'alice'" not in repr(known)
