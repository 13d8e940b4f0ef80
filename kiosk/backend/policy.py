"""The live password checklist: what the person's directory will demand, and
what the kiosk refuses on top of it (``password_quality``).

Cheap (the new-password screen calls it on every key). It mirrors AD's rules
(MS-SAMR 3.1.1.7.2) so people see a refusal coming; the directory stays the
judge, and its own answer is shown when it still says no (history, age). With
``PasswordRules.quality`` (built by ``rules_for`` from the settings) it also
refuses common, breached, guessable and context-word passwords and says why;
``require_acceptable`` is the one check every use case makes before it writes.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.backend.errors import PasswordRejected
from kiosk.backend.model import PasswordPolicy
from kiosk.backend.password_quality import (
    QualityRules,
    context_words,
    judge_blocklist,
    judge_context,
    judge_strength,
    warm_up,
)

if TYPE_CHECKING:
    from kiosk.backend.model import Account
    from kiosk.config import Settings


@dataclass(frozen=True)
class PasswordRules:
    policy: PasswordPolicy
    #: Names the password must not contain when complexity is on (AD checks the
    #: sAMAccountName and the display-name parts of 3+ characters).
    name_parts: tuple[str, ...] = ()
    #: The kiosk's own quality rules (None: AD's rules only, as the demo directory judges).
    quality: QualityRules | None = None

    @property
    def min_length(self) -> int:
        return self.quality.effective_min_length(self.policy.min_length) if self.quality else self.policy.min_length

    @property
    def max_length(self) -> int | None:
        return self.quality.max_length if self.quality else None


@dataclass(frozen=True)
class PolicyCheck:
    key: str
    label: str
    ok: bool
    #: ``PasswordRejected.reason`` when the check fails ("" = the AD rule's usual one).
    reason: str = ""


def _categories(password: str) -> int:
    upper = lower = digit = symbol = other_letter = False
    for char in password:
        category = unicodedata.category(char)
        if category == "Lu":
            upper = True
        elif category == "Ll":
            lower = True
        elif char.isdigit():
            digit = True
        elif category.startswith("L"):
            other_letter = True  # letters without case (e.g. CJK) are a category of their own
        else:
            symbol = True
    return sum((upper, lower, digit, symbol, other_letter))


def contains_name(password: str, name_parts: tuple[str, ...]) -> bool:
    folded = password.casefold()
    return any(len(part) >= 3 and part.casefold() in folded for part in name_parts)


_AD_REASONS = {"length": "too_short", "complexity": "not_complex", "name": "contains_name"}


def evaluate(rules: PasswordRules, password: str, confirm: str | None = None) -> list[PolicyCheck]:
    policy = rules.policy
    quality = rules.quality
    minimum, maximum = rules.min_length, rules.max_length
    if maximum is not None and len(password) > maximum:
        checks = [PolicyCheck("length", f"At most {maximum} characters", False, "too_long")]
    else:
        checks = [PolicyCheck("length", f"At least {minimum} characters", len(password) >= minimum, "too_short")]
    if policy.complexity:
        checks.append(
            PolicyCheck(
                "complexity",
                "3 kinds of: capitals, small letters, digits, symbols",
                _categories(password) >= 3,
                "not_complex",
            )
        )
    if quality is not None:
        # The kiosk's name check is AD's and more (substitutions, the organisation), always on.
        found = judge_blocklist(quality, password)
        checks.append(PolicyCheck("common", found.label, found.ok, found.reason or "common"))
        found = judge_context(quality, password, rules.name_parts)
        checks.append(PolicyCheck("name", found.label, found.ok, found.reason or "contains_name"))
        if quality.min_score > 0:
            found = judge_strength(quality, password)
            checks.append(PolicyCheck("strength", found.label, found.ok, found.reason or "weak"))
    elif policy.complexity:
        checks.append(
            PolicyCheck(
                "name",
                "Not your user name or part of your name",
                bool(password) and not contains_name(password, rules.name_parts),
                "contains_name",
            )
        )
    if confirm is not None:
        checks.append(PolicyCheck("match", "Both entries match", bool(password) and password == confirm))
    return checks


def acceptable(rules: PasswordRules, password: str, confirm: str | None = None) -> bool:
    return all(check.ok for check in evaluate(rules, password, confirm))


def refusal(rules: PasswordRules, password: str) -> str | None:
    """The ``PasswordRejected.reason`` of the first failed check, or None."""
    for check in evaluate(rules, password):
        if not check.ok:
            return check.reason or _AD_REASONS.get(check.key, "unknown")
    return None


def require_acceptable(rules: PasswordRules, password: str) -> None:
    """The check every path makes before the directory write: PasswordRejected
    (with the reason the checklist showed) if any rule fails."""
    reason = refusal(rules, password)
    if reason is not None:
        raise PasswordRejected(reason)


def rules_for(settings: Settings, policy: PasswordPolicy, account: Account) -> PasswordRules:
    """The rules for one person's new password: the directory's policy, AD's
    name rule, and the site's quality rules with this person's context words.
    Loads the blocklist (call it off the event loop: use cases run in workers)."""
    config = settings.passwords
    context = context_words(
        names=(account.display_name, account.given_name, account.surname),
        account=account.sam,
        organisation=settings.kiosk.organisation,
        title=settings.kiosk.title,
        extra=config.context_words,
    )
    quality = QualityRules(
        min_length=config.min_length,
        max_length=config.max_length,
        min_score=config.min_score,
        pwned_dir=config.pwned_dir,
        context=context,
    )
    warm_up()
    return PasswordRules(policy=policy, name_parts=account.name_parts(), quality=quality)


def generate_acceptable(rules: PasswordRules, make: Callable[[int], str], tries: int = 20) -> str:
    """A generated password (``make(min_length)``) that passes every check: the
    helpdesk's temporary passwords go through the same rules as typed ones."""
    for _ in range(tries):
        password = make(rules.min_length)
        if refusal(rules, password) is None:
            return password
    raise PasswordRejected("unknown", "no generated password passed the kiosk's password rules")
