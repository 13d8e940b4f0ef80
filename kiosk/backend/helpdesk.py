"""Helpdesk: support staff acting for a caller, every action attributed to them.

The operator is who the SSH login says, optionally proven by their own AD
password and membership of an operator group; their account must be enabled
(checked again before every action). Verifying a caller goes through
the kiosk's own verification (``SelfService``, handed in by the wiring: same
questions, same throttle, same audit, with the operator named). The operator never chooses a password: a reset sets a generated
temporary one, shown once, that must be changed at next logon (ASVS 5.0 6.4.6).

Every action reads the account again and checks its eligibility (the same
rules as self-service): the caller check alone is not enough. A verification
allows one action, within ``helpdesk.verification_seconds``.

The card says which actions the operator may choose now (``AccountCard.actions``,
by ``helpdesk_actions.offered_actions``): the UI shows that, and the actions
here enforce the same rules.

Wrong answers block a person (and the helpdesk's caller check) for a while;
``clear_attempts`` lets the operator lift that, after verifying the caller: by
their questions when those can verify them, else by another route the
operator confirms (audited as such).
"""

from __future__ import annotations

import secrets
import string
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from kiosk.backend.admin import EnrollmentStatus, enrollment_status, revoke
from kiosk.backend.errors import (
    AccountLocked,
    AccountNotFound,
    DirectoryError,
    InvalidCredentials,
    NotAllowed,
    PasswordExpired,
    PasswordMustChange,
    StoreError,
)
from kiosk.backend.dn import dn_key
from kiosk.backend.email_codes import mask
from kiosk.backend.helpdesk_actions import ActionOffer, offered_actions, questions_can_verify
from kiosk.backend.model import Account, Question
from kiosk.backend.policy import generate_acceptable, rules_for
from kiosk.backend.throttle import ThrottleStatus
from kiosk.backend.usecase import Backend, UseCase, Visit

if TYPE_CHECKING:
    from kiosk.config import Settings

# No look-alikes (0/O, 1/l/I): the operator reads it out over the phone.
_LETTERS_UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_LETTERS_LOWER = "abcdefghijkmnopqrstuvwxyz"
_DIGITS = "23456789"
_SYMBOLS = "#%+-=?@"


def temporary_password(length: int) -> str:
    """Random, with every character class AD's complexity rule counts."""
    classes = (_LETTERS_UPPER, _LETTERS_LOWER, _DIGITS, _SYMBOLS)
    alphabet = "".join(classes)
    chars = [secrets.choice(c) for c in classes]
    chars += [secrets.choice(alphabet) for _ in range(max(length, 8) - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@dataclass(frozen=True)
class AccountCard:
    """What the operator sees about one account."""

    account: Account
    eligible: bool
    ineligible_reason: str
    enrollment: EnrollmentStatus
    enrolled_questions: tuple[str, ...]  # question texts, never answers
    throttle: ThrottleStatus
    #: Whether the answers were enrolled before the password was last set
    #: (True), after it (False: whoever enrolled knew that password, perhaps a
    #: temporary one read out), or unknown (None: not enrolled, no pwdLastSet).
    enrolled_before_password_set: bool | None = None
    #: The caller is verified (by their questions) in this session, for one action.
    verified: bool = False
    #: What the card offers, in order, and whether each may be chosen now
    #: (the backend's rule: ``helpdesk_actions.offered_actions``).
    actions: tuple[ActionOffer, ...] = ()
    #: The caller check's alternatives for this person ([factors] helpdesk), and
    #: the methods the caller passed in this session.
    caller_check: tuple[tuple[str, ...], ...] = (("questions",),)
    passed: tuple[str, ...] = ()
    #: The authenticator app: when it was set up (None: none). ``totp_shown``:
    #: the site uses apps (the card has a line for it).
    totp_enrolled_at: datetime | None = None
    totp_shown: bool = False
    #: The address e-mailed codes go to, masked ("" none); None: the site sends no codes.
    mail: str | None = None

    @property
    def name(self) -> str:
        return self.account.qualified_name

    def allows(self, action: str) -> bool:
        """Is ``action`` offered and enabled on this card?"""
        return any(offer.action == action and offer.enabled for offer in self.actions)


class CallerVerification(Protocol):
    """How a caller is verified: the kiosk's own challenge and verification
    (``SelfService``), so the helpdesk asks, counts and audits the same way."""

    def challenge(self, visit: Visit) -> tuple[Question, ...]: ...

    def verify(self, visit: Visit, answers: Sequence[str]) -> None: ...

    def send_code(self, visit: Visit) -> str: ...

    def verify_code(self, visit: Visit, method: str, code: str) -> None: ...


class Helpdesk(UseCase):
    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        *,
        verification: CallerVerification,
        operator: str,
        terminal: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, backend)
        self._rules = settings.helpdesk
        self._verification = verification
        self.operator = operator
        self.terminal = terminal
        self._monotonic = monotonic
        self._operator_account: Account | None = None
        #: Set by ``authorize`` (also without a password: the operator's
        #: directory account must exist and be enabled).
        self.authorized = False
        #: GUID of a caller -> the methods they passed -> when (monotonic).
        self._verified: dict[str, dict[str, float]] = {}
        #: The code a caller-check visit asks for ("totp" or "email").
        self._code_method: weakref.WeakKeyDictionary[Visit, str] = weakref.WeakKeyDictionary()

    @property
    def needs_operator_password(self) -> bool:
        return self._rules.require_operator_password

    # --- the operator -------------------------------------------------------------------

    def authorize(self, password: str | None = None) -> None:
        """Prove the operator: their AD account (by SSH login name), enabled and
        not expired, their password if required, their membership of an operator group."""
        identity = self._identity(self.operator)
        account = self._directory.find_account(identity) if identity else None
        try:
            if account is None:
                raise InvalidCredentials("operator has no directory account")
            if self._rules.require_operator_password:
                self._directory.verify_password(account, password or "")
        except (PasswordExpired, PasswordMustChange):
            pass
        except (InvalidCredentials, AccountLocked, DirectoryError) as exc:
            self._record_action("helpdesk_login", "failure", None, reason=exc.code)
            if isinstance(exc, (InvalidCredentials, AccountLocked)):
                raise InvalidCredentials(exc.code) from None
            raise
        assert account is not None
        refusal = self._operator_refusal(account)
        if refusal:
            self._record_action("helpdesk_login", "refused", None, reason=refusal)
            raise NotAllowed("not a helpdesk operator")
        self._operator_account = account
        self.authorized = True
        self._record_action("helpdesk_login", "success", None)

    def _operator_refusal(self, account: Account) -> str:
        """Why this account may not operate ("" if it may)."""
        if not account.enabled:
            return "operator account is disabled"
        if account.expired:
            return "operator account has expired"
        groups = {g.lower() for g in account.groups}
        if self._rules.operator_groups and not any(g.lower() in groups for g in self._rules.operator_groups):
            return "not in an operator group"
        return ""

    # --- looking up --------------------------------------------------------------------------

    def search(self, text: str, *, limit: int = 50) -> list[Account]:
        self._require_authorized()
        return self._directory.search_accounts(text.strip(), limit=limit)

    def card(self, account: Account) -> AccountCard:
        self._require_authorized()
        account = self._directory.refresh(account)
        eligibility = self._account_eligibility(account)
        status = enrollment_status(self._store, self.questionnaire, account.guid)
        questions = self.questionnaire.questions
        texts = tuple(questions[q].text if q in questions else f"(removed: {q})" for q in status.question_ids)
        before: bool | None = None
        if status.enrolled_at is not None and account.password_last_set is not None:
            before = status.enrolled_at < account.password_last_set
        throttle = self._throttle.status(self._throttle_key(account))
        verified = self.is_verified(account)
        check = self._caller_check(account)
        methods = tuple(dict.fromkeys(m for alternative in check for m in alternative))
        passed = tuple(self._passed(account))
        totp = self._store.totp(account.guid)
        uses_mail = "email" in self._settings.factors.methods
        return AccountCard(
            account=account,
            eligible=eligibility.allowed,
            ineligible_reason=eligibility.reason,
            enrollment=status,
            enrolled_questions=texts,
            throttle=throttle,
            enrolled_before_password_set=before,
            verified=verified,
            actions=offered_actions(
                self._rules, status, throttle, verified, methods=methods, passed=passed,
                has_totp=totp is not None, has_mail=bool(account.mail) and eligibility.allowed,
            ),
            caller_check=check,
            passed=passed,
            totp_enrolled_at=totp.enrolled_at if totp is not None else None,
            totp_shown=totp is not None or self._settings.features.totp or "totp" in self._settings.factors.methods,
            mail=(mask(account.mail) if account.mail else "") if uses_mail else None,
        )

    # --- verifying the caller -------------------------------------------------------------------

    def caller_questions(self, account: Account) -> tuple[Visit, tuple[Question, ...]]:
        """The caller's own enrolled questions (the operator asks them)."""
        self._require_authorized()
        visit = Visit(
            typed_name=account.qualified_name, terminal=self.terminal, operator=self.operator,
            language=self._person_language(account),  # the caller picked none
        )
        visit.account = self._directory.refresh(account)
        visit.eligibility = self._account_eligibility(visit.account)
        if self._store.get(account.guid) is None:
            raise NotAllowed("the caller has not set up security questions")
        return visit, self._verification.challenge(visit)

    def verify_caller(self, visit: Visit, answers: Sequence[str]) -> None:
        """Same verification, throttle and audit as self-service, with the operator named."""
        self._require_authorized()
        self._verification.verify(visit, answers)
        assert visit.account is not None
        self._passes(visit.account, "questions")

    def caller_code(self, account: Account, method: str) -> tuple[Visit, str]:
        """Check the caller by a code instead of questions read out: "totp" (the
        code their authenticator app shows; nothing is sent) or "email" (a code
        sent now to their directory address, masked in the answer). The
        operator types what the caller reads (``verify_caller_code``)."""
        self._require_authorized()
        self._require(method in ("totp", "email"), f"{method} is not a code")
        if not any(method in alternative for alternative in self._caller_check(account)):
            raise NotAllowed(f"the caller check does not use {method}")
        visit = Visit(
            typed_name=account.qualified_name, terminal=self.terminal, operator=self.operator,
            language=self._person_language(account),  # the caller picked none
        )
        visit.account = self._directory.refresh(account)
        visit.eligibility = self._account_eligibility(visit.account)
        if method == "totp" and self._store.totp(account.guid) is None:
            raise NotAllowed("the caller has no authenticator app")
        if method == "email" and not visit.account.mail:
            raise NotAllowed("the caller has no mail address")
        self._verification.challenge(visit)  # opens the visit's verification (nothing is asked)
        self._code_method[visit] = method
        shown = self._verification.send_code(visit) if method == "email" else ""
        return visit, shown

    def verify_caller_code(self, visit: Visit, code: str) -> None:
        """The code the caller read out: the same throttle and audit as
        self-service (SecondFactorFailed, Throttled), with the operator named."""
        self._require_authorized()
        method = self._code_method.get(visit)
        self._require(method is not None, "no code was asked of this caller")
        assert method is not None and visit.account is not None
        self._verification.verify_code(visit, method, code)
        self._code_method.pop(visit, None)
        self._passes(visit.account, method)

    def _passes(self, account: Account, method: str) -> None:
        self._verified.setdefault(account.guid, {})[method] = self._monotonic()

    def _caller_check(self, account: Account) -> tuple[tuple[str, ...], ...]:
        groups = {dn_key(group) for group in account.groups}
        alternatives = self._settings.factors.alternatives("helpdesk", lambda dn: dn_key(dn) in groups)
        return tuple(tuple(alternative) for alternative in alternatives)

    def _passed(self, account: Account) -> set[str]:
        """The methods the caller passed, no longer ago than ``helpdesk.verification_seconds``."""
        passed = self._verified.get(account.guid, {})
        now = self._monotonic()
        for method, at in list(passed.items()):
            if now - at > self._rules.verification_seconds:
                del passed[method]
        return set(passed)

    def is_verified(self, account: Account) -> bool:
        """Verified by a whole alternative of the caller check (every method
        passed within ``helpdesk.verification_seconds``)."""
        passed = self._passed(account)
        return any(set(alternative) <= passed for alternative in self._caller_check(account))

    # --- actions -----------------------------------------------------------------------------------

    def unlock(self, account: Account) -> None:
        account = self._require_action(self._rules.unlock, account, "unlock")
        try:
            self._directory.unlock(account)
        except DirectoryError as exc:
            self._record_action("helpdesk_unlock", "error", account, reason=f"{exc.code}: {exc.detail}")
            raise
        self._record_action("helpdesk_unlock", "success", account)

    def reset(self, account: Account, *, revoke_answers: bool = False) -> str:
        """Set a generated temporary password (must change at next logon) and
        return it, to be shown once. Clears a lockout too. ``revoke_answers``
        also forgets the person's enrolled answers in the same step (the card's
        ``enrolled_before_password_set`` helps the operator decide).

        The password and must-change are one directory write. The password is
        returned only once the directory shows must-change: a temporary
        password that would not expire is never shown to anyone (nobody knows
        it: it is random), and the reset is an error."""
        account = self._require_action(self._rules.reset, account, "reset")
        if revoke_answers:
            self._require(self._rules.revoke, "revoking enrollments is switched off")
        policy = self._directory.password_policy(account)
        password = generate_acceptable(rules_for(self._settings, policy, account), lambda n: temporary_password(max(self._rules.temporary_password_length, n)))
        try:
            self._directory.reset_password(account, password, must_change=True)
            current = self._directory.refresh(account)
            if not (current.must_change_password or current.password_last_set is None):
                raise DirectoryError("the password was set but must-change was not; the password is withheld")
            if current.locked:
                self._directory.unlock(current)
        except DirectoryError as exc:
            self._record_action("helpdesk_reset", "error", account, reason=f"{exc.code}: {exc.detail}")
            raise
        self._record_action("helpdesk_reset", "success", account, must_change=True, revoked_enrollment=revoke_answers)
        if revoke_answers:
            revoke(self._store, self._audit, account.guid, self.operator, account.qualified_name)
        return password

    def revoke(self, account: Account, method: str = "questions") -> bool:
        """Forget one method of the person's: their security questions, or
        their authenticator app ("totp": its secret and recovery codes).
        True if there was one. Audited, and the person is told."""
        self._require_authorized()
        self._require(self._rules.revoke, "revoking enrollments is switched off")
        if method == "totp":
            try:
                removed = self._store.delete_totp(account.guid)
            except StoreError as exc:
                self._record_action("helpdesk_revoke_totp", "error", account, reason=f"{exc.code}: {exc.detail}")
                raise
            self._record_action("helpdesk_revoke_totp", "success" if removed else "not_enrolled", account)
            return removed
        self._require(method == "questions", f"{method} cannot be revoked")
        removed = revoke(self._store, self._audit, account.guid, self.operator, account.qualified_name)
        self._notice("helpdesk_revoke", "success" if removed else "not_enrolled", account,
                     terminal=self.terminal, operator=self.operator, reference=None)
        return removed

    def clear_attempts(self, account: Account, *, verified_elsewhere: bool = False) -> int:
        """Forget the account's wrong answers and lift its block (self-service
        and the caller check both), audited with the operator's name. Returns
        how many failures were forgotten.

        The caller must be verified first: by their questions when those can
        verify them (which uses the verification up, like any action); when
        they cannot (the block itself stops them, or there are no usable
        questions), the operator says they verified the caller another way
        (``verified_elsewhere``, e.g. a call back on a number the organisation
        holds, or an ID seen in person), and the audit says so."""
        account = self._current(account, "clear_attempts")
        key = self._throttle_key(account)
        before = self._throttle.status(key)
        if self.is_verified(account):
            verified_by = "+".join(sorted(self._passed(account))) or "questions"
        elif not self._rules.require_verification:
            verified_by = "not_required"
        elif verified_elsewhere and not self._questions_can_verify(account, before):
            verified_by = "operator_confirmed_other_route"
        else:
            self._record_action("helpdesk_clear_attempts", "refused", account, reason="caller not verified")
            raise NotAllowed("verify the caller before clearing their attempts")
        self._verified.pop(account.guid, None)  # one verification, one action
        try:
            self._throttle.clear(key)
        except StoreError as exc:
            self._record_action("helpdesk_clear_attempts", "error", account, reason=f"{exc.code}: {exc.detail}")
            raise
        self._record_action(
            "helpdesk_clear_attempts", "success", account, verified_by=verified_by, failures=before.failures
        )
        return before.failures

    # --- helpers ----------------------------------------------------------------------------------------

    def _require_action(self, enabled: bool, account: Account, action: str) -> Account:
        """The account, read again, if the operator may act on it now: the
        operator's own account still enabled, the action switched on, the
        account eligible (self-service's rules) and the caller verified within
        the time allowed. The verification is used up here, by this action."""
        self._require_authorized()
        self._require(enabled, f"{action} is switched off for the helpdesk")
        account = self._current(account, action)
        verified = self.is_verified(account)
        if self._rules.require_verification and not verified:
            raise NotAllowed(f"verify the caller before {action}")
        self._verified.pop(account.guid, None)  # one verification, one action
        return account

    def _current(self, account: Account, action: str) -> Account:
        """The account, read again, if the operator may still act and the
        account is eligible (self-service's rules); refusals are audited."""
        self._require_authorized()
        operator = self._operator_account
        try:
            if operator is not None:
                current = self._directory.refresh(operator)
                refusal = self._operator_refusal(current)
                if refusal:
                    self.authorized = False
                    self._record_action(f"helpdesk_{action}", "refused", account, reason=refusal)
                    raise NotAllowed("the operator is not signed in")
            account = self._directory.refresh(account)
        except AccountNotFound:
            self._record_action(f"helpdesk_{action}", "refused", account, reason="account is gone")
            raise NotAllowed("the account is gone") from None
        eligibility = self._account_eligibility(account)
        if not eligibility.allowed:
            self._verified.pop(account.guid, None)
            self._record_action(f"helpdesk_{action}", "refused", account, reason=f"ineligible: {eligibility.reason}")
            raise NotAllowed(f"not available for this account: {eligibility.reason}")
        return account

    def _questions_can_verify(self, account: Account, throttle: ThrottleStatus) -> bool:
        status = enrollment_status(self._store, self.questionnaire, account.guid)
        return questions_can_verify(status, throttle)

    def _throttle_key(self, account: Account) -> str:
        """The account's key in the throttle: the one self-service counts under
        (``Visit.throttle_key`` of a visit that found the account)."""
        return Visit(typed_name="", terminal=self.terminal, account=account).throttle_key

    def _require_authorized(self) -> None:
        if not self.authorized:
            raise NotAllowed("the operator is not signed in")

    def _record_action(self, event: str, outcome: str, account: Account | None, *, reason: str = "", **fields) -> None:
        self._audit.record(
            event,
            outcome=outcome,
            account=account.qualified_name if account else None,
            terminal=self.terminal,
            operator=self.operator,
            reason=reason,
            **fields,
        )
        self._notice(event, outcome, account, terminal=self.terminal, operator=self.operator, reference=None)
