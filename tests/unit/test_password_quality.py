"""The kiosk's password quality rules (kiosk.backend.password_quality through policy):
each refusal names its reason, and every path refuses the same passwords."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.backend.errors import PasswordRejected
from kiosk.backend.model import Account, PasswordPolicy
from kiosk.backend.password_quality import STRENGTH_CAP, context_words, is_common, pwned_count, pwned_copy_state, variants
from kiosk.backend.policy import evaluate, generate_acceptable, refusal, require_acceptable, rules_for
from kiosk.config import DirectorySettings, DomainSettings, KioskSettings, Settings
from kiosk.config.schema import PasswordSettings

PASSPHRASE = "Glacier otter ribbon quartz lantern"


def _settings(**passwords: object) -> Settings:
    return Settings(
        directory=DirectorySettings(kind="demo", domains=[DomainSettings(netbios="EXAMPLE", dns="example.com", base_dn="DC=example,DC=com")]),
        kiosk=KioskSettings(organisation="Northwind Traders", title="Northwind password kiosk"),
        passwords=PasswordSettings(**passwords),  # type: ignore[arg-type]
    )


ALICE = Account(
    dn="CN=Alice Liddell,DC=example,DC=com",
    guid="g-alice",
    sam="aliddell",
    domain="EXAMPLE",
    upn="aliddell@example.com",
    display_name="Alice Liddell",
    given_name="Alice",
    surname="Liddell",
)
POLICY = PasswordPolicy(min_length=8, complexity=True)


def rules(**passwords: object):
    return rules_for(_settings(**passwords), POLICY, ALICE)


@pytest.mark.parametrize(
    ("password", "reason", "why"),
    [
        ("Password123!", "common", "This password is on a list of common passwords"),
        ("Summer2026!", "common", "This password is on a list of common passwords"),
        ("P@ssw0rd1", "common", "This password is on a list of common passwords"),
        ("Alice2026!", "contains_name", "It contains your name"),
        ("L1ddell#1987", "contains_name", "It contains your name"),
        ("xAliddell-77", "contains_name", "It contains your"),
        ("Northwind#2026", "context", "It contains the organisation's name"),
        ("N0rthw1nd!!", "context", "It contains the organisation's name"),
        ("Tr@ders-Blue-9", "context", "It contains the organisation's name"),
    ],
)
def test_refusals_name_their_reason(password: str, reason: str, why: str) -> None:
    rule = rules()
    assert refusal(rule, password) == reason
    failed = [check for check in evaluate(rule, password) if not check.ok]
    assert failed and failed[0].label.startswith(why), failed
    with pytest.raises(PasswordRejected) as caught:
        require_acceptable(rule, password)
    assert caught.value.reason == reason


def test_a_long_random_passphrase_is_accepted() -> None:
    rule = rules()
    assert refusal(rule, PASSPHRASE) is None
    assert refusal(rule, "Kx7#qLm2-vRt9!wZp") is None
    checks = evaluate(rule, PASSPHRASE, PASSPHRASE)
    assert all(check.ok for check in checks), checks
    assert [c.key for c in checks] == ["length", "complexity", "common", "name", "strength", "match"]
    strength = next(c for c in checks if c.key == "strength")
    assert strength.label.startswith("Hard to guess") and "4 of 4" in strength.label


def test_a_guessable_password_says_so_and_gives_guidance() -> None:
    found = {c.key: c for c in evaluate(rules(), "qwertyuiop12")}
    assert not found["common"].ok or not found["strength"].ok
    weak = [c for c in evaluate(rules(min_score=4), "Temp#Pass42") if c.key == "strength"][0]
    assert not weak.ok and "Too easy to guess" in weak.label and "add a word" in weak.label
    assert refusal(rules(min_score=4), "Temp#Pass42") == "weak"
    assert refusal(rules(min_score=0), "Temp#Pass42") is None
    assert "strength" not in [c.key for c in evaluate(rules(min_score=0), "x")]


def test_the_kiosk_minimum_only_adds_to_the_directorys() -> None:
    assert rules().min_length == 8  # default: the directory's own
    assert rules(min_length=4).min_length == 8
    assert rules(min_length=15).min_length == 15
    assert refusal(rules(min_length=15), "Kx7#qLm2-vRt9") == "too_short"
    assert refusal(rules(min_length=15), "Kx7#qLm2-vRt9!wZ") is None


def test_a_maximum_of_at_least_64() -> None:
    with pytest.raises(ValueError, match="more than max_length"):
        PasswordSettings(min_length=100, max_length=64)
    rule = rules(max_length=64)
    long = "Kx7#qLm2-vRt9!wZ" * 5
    assert refusal(rule, long[:64]) is None
    assert refusal(rule, long[:65]) == "too_long"
    assert evaluate(rule, long)[0].label == "At most 64 characters"


def test_normalisation_as_entra_does() -> None:
    assert "password" in variants("P@$$w0rd")
    assert {"alice", "alice"} <= variants("@l1ce") | variants("Al!ce")
    assert "lime" in variants("1ime")  # 1 is tried as l too
    assert is_common("Password123!") and is_common("SUMMER2026!") and is_common("2026summer")
    assert not is_common(PASSPHRASE) and not is_common("Kx7#qLm2-vRt9")


def test_context_words_include_the_site_and_extra_words() -> None:
    words = {(w.word, w.kind) for w in context_words(names=("Alice Liddell",), account="aliddell",
                                                     organisation="Northwind Traders", title="Kiosk", extra=["Fabrikam"])}
    assert ("Northwind", "organisation") in words and ("NorthwindTraders", "organisation") in words
    assert ("Kiosk", "title") in words and ("Fabrikam", "site") in words and ("aliddell", "account") in words
    assert refusal(rules(context_words=["Fabrikam"]), "Fabr1kam-2026!") == "context"


def _write_range(directory: Path, password: str, count: int) -> None:
    digest = hashlib.sha1(password.encode()).hexdigest().upper()
    lines = [f"{'0' * 35}:3", f"{digest[5:]}:{count}", f"{'F' * 35}:1"]
    (directory / digest[:5]).write_text("\r\n".join(sorted(lines)) + "\r\n")


def test_a_local_pwned_passwords_copy_is_read_by_prefix(tmp_path: Path) -> None:
    breached = "Zebra-Cactus-Violin-41"
    _write_range(tmp_path, breached, 12)
    assert pwned_count(tmp_path, breached) == 12
    assert pwned_count(tmp_path, PASSPHRASE) == 0  # its prefix file is missing: not found
    assert refusal(rules(), breached) is None
    rule = rules(pwned_dir=tmp_path)
    assert refusal(rule, breached) == "breached"
    assert [c.label for c in evaluate(rule, breached) if not c.ok] == ["This password has appeared in a data breach"]
    assert pwned_copy_state(tmp_path)[0] == 1


def test_strength_sees_a_capped_input() -> None:
    rule = rules()
    assert refusal(rule, PASSPHRASE * 6) is None  # past the cap costs nothing more and still passes
    assert len(PASSPHRASE * 6) > STRENGTH_CAP


def test_the_helpdesks_generated_passwords_pass_the_same_rules() -> None:
    rule = rules(min_length=20)
    made: list[int] = []

    def make(n: int) -> str:
        made.append(n)
        return "Password123!" if len(made) == 1 else "Kx7#qLm2-vRt9!wZp4Yh"

    assert generate_acceptable(rule, make) == "Kx7#qLm2-vRt9!wZp4Yh"
    assert made == [20, 20]
    with pytest.raises(PasswordRejected):
        generate_acceptable(rule, lambda n: "Password123!")


def test_without_quality_rules_only_ads_rules_apply() -> None:
    from kiosk.backend.policy import PasswordRules

    plain = PasswordRules(POLICY, ALICE.name_parts())
    assert refusal(plain, "Password123!") is None  # AD itself would take it (the demo directory judges so)
    assert [c.key for c in evaluate(plain, "x")] == ["length", "complexity", "name"]
    assert replace(rules(), quality=None).quality is None


def test_kiosk_check_reports_the_minimum_and_the_pwned_copy(tmp_path: Path) -> None:
    import os

    from kiosk.check import _check_passwords

    lines = {r.name: r for r in _check_passwords(_settings())}
    assert lines["passwords min_length"].state == "warn" and "under the 15" in lines["passwords min_length"].message
    assert lines["passwords pwned_dir"].state == "ok" and "not set" in lines["passwords pwned_dir"].message
    assert _check_passwords(_settings(min_length=15))[0].state == "ok"

    lines = {r.name: r for r in _check_passwords(_settings(pwned_dir=tmp_path))}
    assert lines["passwords pwned_dir"].state == "fail" and "no range files" in lines["passwords pwned_dir"].message
    _write_range(tmp_path, "Zebra-Cactus-Violin-41", 3)
    old = tmp_path / next(p.name for p in tmp_path.iterdir())
    os.utime(old, (old.stat().st_atime, old.stat().st_mtime - 10 * 86400))
    line = {r.name: r for r in _check_passwords(_settings(pwned_dir=tmp_path))}["passwords pwned_dir"]
    assert line.state == "warn" and "1 range files" in line.message and "10 day(s) old" in line.message
    line = {r.name: r for r in _check_passwords(_settings(pwned_dir=tmp_path / "missing"))}["passwords pwned_dir"]
    assert line.state == "fail" and "cannot read it" in line.message


def test_a_long_password_is_judged_by_its_better_window() -> None:
    strong = "Kx7#qLm2-vRt9!wZp4Yh&Tb8*uNc3@eJ"
    assert len(strong) == STRENGTH_CAP
    assert refusal(rules(), "a" * STRENGTH_CAP + strong) is None
    assert refusal(rules(), "aA1!" + "a" * (STRENGTH_CAP * 2)) == "weak"
