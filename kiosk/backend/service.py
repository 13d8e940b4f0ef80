"""SelfService: every rule of one visit to the kiosk, in one place.

A screen collects input and shows a result; this class decides. It is plain,
synchronous Python: the app calls it from thread workers, the tests call it
directly. The order of things here is the security design:

* Unknown, unenrolled and ineligible people walk the same path as enrolled
  ones: decoy questions (stable per name, unpredictable without the site
  secret), the same number of argon2 computations, the same final message.
* A failure is counted before the answers are checked (throttle first), and
  taken back only when the answers turn out right.
* Passwords and answers are arguments of one call; nothing here keeps them.
"""

from __future__ import annotations

import contextlib

import functools
import os
import secrets
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kiosk.backend.errors import (
    AccountDisabled,
    AccountExpired,
    AccountLocked,
    DirectoryError,
    DirectoryUnavailable,
    InsecureConnection,
    InsufficientRights,
    InvalidCredentials,
    NotAllowed,
    PasswordExpired,
    PasswordMustChange,
    CodeNotSent,
    CodeRejected,
    PasswordRejected,
    SecondFactorFailed,
    ServiceAccountError,
    StoreError,
    Throttled,
    TooManyCodes,
    VerificationFailed,
)
from kiosk.backend import totp as totp_codes
from kiosk.backend.dn import dn_key
from kiosk.backend.email_codes import EmailCodes
from kiosk.backend.model import Account, Enrollment, Question, StoredAnswer, TotpEnrollment, TotpSetup
from kiosk.backend.policy import PasswordRules, refusal, require_acceptable, rules_for
from kiosk.backend.usecase import DECOY_SECRET, Backend, UseCase, Visit
from kiosk.i18n import SOURCE_LANGUAGE

if TYPE_CHECKING:
    from kiosk.config import Settings

__all__ = ["DECOY_SECRET", "SelfService", "Visit"]

#: Trouble with the kiosk's own machinery, not the person: audited as errors
#: by every step of a visit (the person gets plain words for its code).
_FAULTS = (StoreError, DirectoryUnavailable, ServiceAccountError, InsecureConnection, InsufficientRights)


def _audit_faults(event: str):
    """Record a fault raised by a visit's step as ``event``/error, then re-raise it."""

    def wrap(method):
        @functools.wraps(method)
        def run(self: SelfService, visit: Visit, *args, **kwargs):
            try:
                return method(self, visit, *args, **kwargs)
            except _FAULTS as exc:
                self._record(event, "error", visit, reason=f"{exc.code}: {exc.detail}")
                raise

        return run

    return wrap


class SelfService(UseCase):
    """A visit: identify, enroll, challenge, verify, then unlock or reset
    (collaborators, questionnaire and answer rules from ``UseCase``)."""

    def __init__(
        self, settings: Settings, backend: Backend, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        super().__init__(settings, backend, clock=clock)
        self.features = settings.features
        self._factors = settings.factors
        self._box: totp_codes.SecretBox | None = None
        #: The methods each verified visit proved (``verify``: the questions;
        #: ``verify_factors``: the alternative chosen), checked against the policy before an action.
        self._proven: weakref.WeakKeyDictionary[Visit, frozenset[str]] = weakref.WeakKeyDictionary()
        #: E-mailed one-time codes, one per visit at most (``send_code``).
        self._email_codes = EmailCodes(settings, backend.store, lambda: self._clock())
        #: TOTP enrollment in progress: the new secret, until its first code confirms it.
        self._pending_totp: weakref.WeakKeyDictionary[Visit, str] = weakref.WeakKeyDictionary()

    # --- what the screens show -------------------------------------------------

    @property
    def directory_label(self) -> str:
        return self._directory.label

    @property
    def is_demo(self) -> bool:
        return self._directory.is_demo

    @property
    def demo_hint(self) -> str | None:
        return getattr(self._directory, "demo_hint", None)

    # --- a visit -----------------------------------------------------------------

    def begin(self, typed_name: str, terminal: str, language: str = SOURCE_LANGUAGE) -> Visit:
        """Look the person up. Never says whether they exist, not even by how
        long the look-up took (``throttle.identify_seconds``). ``language``:
        what they read, which their mails will be in."""
        began = self._throttle.started()
        visit = Visit(typed_name=typed_name[:256], terminal=terminal, language=self._visit_language(language))
        identity = self._identity(typed_name)
        try:
            visit.name_key = self.name_key(typed_name)
            if identity is not None:
                visit.account = self._directory.find_account(identity)
        except _FAULTS as exc:
            self._record("identify", "error", visit, reason=f"{exc.code}: {exc.detail}")
            raise
        if visit.account is not None:
            visit.eligibility = self._account_eligibility(visit.account)
        self._throttle.answer_no_sooner(began, self._settings.throttle.identify_seconds)
        return visit

    def end(self, visit: Visit) -> None:
        visit.account = None
        visit.questions = None
        visit.enrollment = None
        visit.verified = visit.password_proven = False
        self._proven.pop(visit, None)
        self._email_codes.forget(visit)
        self._pending_totp.pop(visit, None)

    # --- enrollment ------------------------------------------------------------------

    @_audit_faults("enroll")
    def prove_password(self, visit: Visit, password: str) -> None:
        """Enrollment starts with the current password. Eligibility is decided
        first, without a bind: an unknown, ineligible or disabled account, a
        wrong password and a locked account all give the same InvalidCredentials
        (no password oracle for privileged accounts, no AD lockout count).

        A right but temporary or expired password (AD 773/532) is no proof: who
        knows a temporary password (the operator who read it out, a site's
        starting password) is not yet the owner. PasswordMustChange says so."""
        self._require(self.features.enroll or self.features.totp, "enrollment is switched off")
        attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        account = visit.account
        try:
            if account is None or not visit.eligibility.allowed:
                # The same directory work as a wrong password, bound as nobody.
                with contextlib.suppress(InvalidCredentials):
                    self._directory.bind_as_nobody(password)
                refused = "unknown user" if account is None else f"ineligible: {visit.eligibility.reason}"
                raise InvalidCredentials(refused)
            self._directory.verify_password(account, password)
        except (PasswordExpired, PasswordMustChange) as exc:
            self._throttle.succeeded(attempt)
            self._record("enroll", "refused", visit, reason=f"the password must be changed first ({exc.code})")
            raise PasswordMustChange(exc.code) from None
        except (InvalidCredentials, AccountLocked, AccountExpired, AccountDisabled) as exc:
            reason = exc.detail if account is None or not visit.eligibility.allowed else f"password not accepted ({exc.code})"
            self._record("enroll", "failure", visit, reason=reason)
            self._failed(visit, attempt)
            raise InvalidCredentials("invalid_credentials") from None
        self._throttle.succeeded(attempt)
        visit.password_proven = True

    @_audit_faults("enroll")
    def enroll(self, visit: Visit, answers: Sequence[tuple[str, str]]) -> None:
        """Store a complete set of answers; the old set stays until this succeeds.
        Replacing an existing set (proven by the current, not a temporary,
        password) is audited as its own event, ``enroll_replace``."""
        self._require(self.features.enroll, "enrollment is switched off")
        self._require(visit.password_proven and visit.account is not None, "password not proven")
        account = visit.account
        assert account is not None
        self.questionnaire.validate_selection([question_id for question_id, _ in answers])
        earlier: list[str] = []
        for question_id, answer in answers:
            self.check_answer(visit, question_id, answer, earlier)
            earlier.append(answer)
        stored = tuple(
            StoredAnswer(question_id, self.questionnaire.questions[question_id].text,
                         self._hasher.hash(self.questionnaire.questions[question_id], answer))
            for question_id, answer in answers
        )
        previous = self._store.get(account.guid)
        self._store.put(
            Enrollment(
                account_guid=account.guid,
                account_name=account.qualified_name,
                answers=stored,
                enrolled_at=self._clock(),
            )
        )
        questions = ",".join(q for q, _ in answers)
        if previous is None:
            self._record("enroll", "success", visit, questions=questions)
        else:
            self._record(
                "enroll_replace", "success", visit, questions=questions,
                replaced_enrolled_at=previous.enrolled_at.isoformat(),
            )
        visit.password_proven = False  # one enrollment per proof

    # --- challenge and verification ------------------------------------------------------

    @_audit_faults("challenge")
    def challenge(self, visit: Visit) -> tuple[Question, ...]:
        """The questions to ask, in today's shape for everyone: the person's
        own where they fit, decoys elsewhere (see ``Questionnaire.challenge``)."""
        account = visit.account
        enrollment = None
        if account is not None and visit.eligibility.allowed:
            enrollment = self._store.get(account.guid)
        found = self.questionnaire.challenge(self._store.site_secret(DECOY_SECRET), visit.subject, enrollment)
        visit.enrollment = enrollment if found.verifiable else None
        visit.questions = found.questions
        return found.questions

    @_audit_faults("verify")
    def verify(self, visit: Visit, answers: Sequence[str]) -> None:
        """All answers at once; VerificationFailed says nothing about which."""
        questions, attempt = self._start_verification(visit)
        enrollment = visit.enrollment
        padded, matched = self._answers_match(visit, questions, answers)
        if matched and enrollment is not None:
            self._throttle.succeeded(attempt)
            visit.verified = True
            self._proven[visit] = frozenset({"questions"})
            self._record("verify", "success", visit)
            self._after_success(enrollment, questions, padded)
            return
        self._record("verify", "failure", visit, reason=self._failure_reason(visit))
        self._bump_directory_count(visit)
        self._failed(visit, attempt)
        raise VerificationFailed()

    def _start_verification(self, visit: Visit):
        questions = visit.questions
        if questions is None:
            raise NotAllowed("no challenge was issued")
        try:
            attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        except Throttled as exc:
            self._record("verify", "throttled", visit, reason=exc.describe(exc.retry_after))
            raise
        return questions, attempt

    def _answers_match(
        self, visit: Visit, questions: Sequence[Question], answers: Sequence[str]
    ) -> tuple[list[str], bool]:
        """(the answers padded to the questions, whether they are all right)."""
        enrollment = visit.enrollment
        hashes = {a.question_id: a.answer_hash for a in enrollment.answers} if enrollment else {}
        padded = list(answers[: len(questions)]) + [""] * (len(questions) - len(answers))
        # One argon2 computation per question for everyone; only the person's
        # own questions are compared (the others fill today's shape).
        own = [
            self._hasher.verify(question, hashes[question.id], answer)
            if question.id in hashes
            else self._hasher.decoy_verify(question, answer)
            for question, answer in zip(questions, padded, strict=True)
        ]
        own = [ok for question, ok in zip(questions, own, strict=True) if question.id in hashes]
        matched = enrollment is not None and len(answers) == len(questions) and bool(own) and all(own)
        return padded, matched

    # --- the second factor: the policy, an authenticator's code, an e-mailed code -------------

    def requires_code(self, action: str) -> bool:
        """Does the policy ([factors]) ask for an authenticator's code for ``action``
        in every alternative? The same for everyone."""
        return self._factors.requires_totp(action)

    def factor_choices(self, action: str) -> tuple[tuple[str, ...], ...]:
        """The alternatives the kiosk offers for ``action`` (``FactorSettings.choices``):
        the same for everyone, whatever they have set up or their groups allow."""
        return tuple(tuple(alternative) for alternative in self._factors.choices(action))

    def _sufficient(self, visit: Visit, action: str, methods: frozenset[str]) -> bool:
        """Do ``methods`` make one whole alternative of the person's policy for ``action``?"""
        account = visit.account
        if account is None:
            return False
        groups = {dn_key(group) for group in account.groups}
        alternatives = self._factors.alternatives(action, lambda dn: dn_key(dn) in groups)
        return any(set(alternative) <= methods for alternative in alternatives)

    @_audit_faults("mail_code")
    def send_code(self, visit: Visit) -> str:
        """Send a one-time code to the account's directory address, now; the
        address masked (``a***@example.com``). People unknown, ineligible or
        without an address get the same answer after the same work (a code
        kept that nobody receives; the relay reached, no mail sent): a masked
        address of the same shape. TooManyCodes past the limits (the same for
        everyone), CodeNotSent if the relay failed (audited)."""
        account = visit.account
        address = account.mail if account is not None and visit.eligibility.allowed and account.mail else None
        name = (account.display_name or account.given_name) if account is not None else ""
        try:
            shown = self._email_codes.issue(
                visit, address, name=name, account=account.qualified_name if account is not None else ""
            )
        except TooManyCodes as exc:
            self._record("mail_code", "refused", visit, reason=exc.detail)
            raise
        except CodeNotSent as exc:
            self._record("mail_code", "error", visit, reason=f"not sent: {exc.detail}")
            raise
        if address:
            self._record("mail_code", "success", visit, recipient="person")
        else:
            why = "unknown user" if account is None else (
                f"ineligible: {visit.eligibility.reason}" if not visit.eligibility.allowed else "no mail address"
            )
            self._record("mail_code", "not_sent", visit, reason=why)
        return shown

    @_audit_faults("verify")
    def verify_with_code(self, visit: Visit, answers: Sequence[str], code: str) -> None:
        """The answers and the authenticator's code (or one recovery code) in one
        attempt (``verify_factors`` with questions and TOTP)."""
        self._verify_methods(visit, None, ("questions", "totp"), answers, code)

    @_audit_faults("verify")
    def verify_factors(
        self, visit: Visit, action: str, methods: Sequence[str], answers: Sequence[str], code: str
    ) -> None:
        """One alternative of ``factor_choices(action)``, all its methods in one
        attempt: one failure counted first, taken back only if every method is
        right and the alternative suffices for this person (their group's
        policy). People unknown, unenrolled, without the method or whose group
        needs another alternative take the same path against decoys;
        SecondFactorFailed never says which part was wrong."""
        chosen = tuple(methods)
        if list(chosen) not in self._factors.choices(action):
            raise NotAllowed(f"{'+'.join(chosen)} is not offered for {action}")
        self._verify_methods(visit, action, chosen, answers, code)

    @_audit_faults("verify")
    def verify_code(self, visit: Visit, method: str, code: str) -> None:
        """One code alone ("totp", or "email" after ``send_code``), in one
        throttle attempt: the helpdesk's caller check, which verifies the
        methods of its policy one at a time (``Helpdesk.verify_caller_code``)."""
        self._require(method in ("totp", "email"), f"{method} is not a code")
        self._verify_methods(visit, None, (method,), (), code)

    def _verify_methods(
        self, visit: Visit, action: str | None, methods: tuple[str, ...], answers: Sequence[str], code: str
    ) -> None:
        questions, attempt = self._start_verification(visit)
        enrollment = visit.enrollment
        account = visit.account
        guid = account.guid if account is not None else ""
        known = account is not None and visit.eligibility.allowed
        sufficient = known and (action is None or self._sufficient(visit, action, frozenset(methods)))
        answers_ok = True
        padded: list[str] = []
        if "questions" in methods:
            padded, answers_ok = self._answers_match(visit, questions, answers)
        real = sufficient and answers_ok
        factor = "questions"
        record: TotpEnrollment | None = None
        code_ok = True
        if "totp" in methods:
            factor, record, code_ok = self._check_totp(visit, guid if known else "", real, code)
        elif "email" in methods:
            factor = "email"
            code_ok = self._email_codes.check(visit, code)
        if real and code_ok and known:
            self._throttle.succeeded(attempt)
            visit.verified = True
            self._proven[visit] = frozenset(methods)
            self._record("verify", "success", visit, factor=factor, methods="+".join(methods))
            if factor == "recovery_code" and record is not None:
                self._record("totp_recovery_code", "success", visit, remaining=max(0, len(record.recovery) - 1))
            if enrollment is not None and "questions" in methods:
                self._after_success(enrollment, questions, padded)
            return
        if not known or not answers_ok:
            reason = self._failure_reason(visit)
        elif not sufficient:
            reason = f"{'+'.join(methods)} is not enough for this account's group"
        elif factor in ("totp", "recovery_code") and record is None:
            reason = "no authenticator app"
        elif factor == "email":
            reason = f"e-mailed code: {self._email_codes.state(visit, code)}"
        else:
            reason = f"wrong or used {factor.replace('_', ' ')}"
        self._record("verify", "failure", visit, reason=reason, factor=factor, methods="+".join(methods))
        self._bump_directory_count(visit)
        self._failed(visit, attempt)
        raise SecondFactorFailed()

    def _check_totp(
        self, visit: Visit, guid: str, real: bool, code: str
    ) -> tuple[str, TotpEnrollment | None, bool]:
        """(the factor used, the person's authenticator or None, whether the code is right).
        People without one are checked against a decoy secret and a key no row has."""
        record = self._store.totp(guid) if guid else None
        # Only a real, rightly answered visit may use up a step or a recovery code:
        # everyone else's use goes to a key no row has (the same statements run).
        key = guid if real and record is not None else f"decoy:{visit.subject}"
        secret = (
            self._secret_box().open(record.secret, guid)
            if record is not None
            else totp_codes.decoy_secret(self._store.site_secret("totp-decoy"), visit.subject)
        )
        if totp_codes.looks_like_recovery_code(code):
            digest = totp_codes.recovery_digest(self._store.site_secret("totp-recovery"), guid or visit.subject, code)
            return "recovery_code", record, self._store.use_recovery_code(key, digest) and record is not None
        step = totp_codes.matching_step(secret, code, self._clock().timestamp())
        return "totp", record, self._store.use_totp_step(key, -1 if step is None else step) and record is not None

    def _secret_box(self) -> totp_codes.SecretBox:
        if self._box is None:
            path = totp_codes.key_path(self._factors.totp_key_file, os.environ)
            self._box = totp_codes.SecretBox(totp_codes.load_or_create_key(path))
        return self._box

    @_audit_faults("totp_enroll")
    def totp_begin(self, visit: Visit) -> TotpSetup:
        """A new secret for the person who just proved their password; kept on
        the visit until ``totp_confirm`` sees a code made with it."""
        self._require(self.features.totp, "authenticator enrollment is switched off")
        self._require(visit.password_proven and visit.account is not None, "password not proven")
        account = visit.account
        assert account is not None
        self._secret_box()  # no key, no enrollment: said before the person scans anything
        secret = totp_codes.new_secret()
        self._pending_totp[visit] = secret
        issuer = self._factors.totp_issuer or self._settings.kiosk.organisation[:24].replace(":", " ") or "Kiosk"
        return TotpSetup(secret=secret, uri=totp_codes.provisioning_uri(secret, account.sam, issuer), label=account.sam)

    @_audit_faults("totp_enroll")
    def totp_confirm(self, visit: Visit, code: str) -> tuple[str, ...]:
        """The first code from the app: right, the secret is kept (encrypted)
        with ten new recovery codes (their digests), which come back to be
        shown once. Wrong: CodeRejected, counted in the throttle."""
        self._require(self.features.totp, "authenticator enrollment is switched off")
        secret = self._pending_totp.get(visit)
        account = visit.account
        self._require(secret is not None and visit.password_proven and account is not None, "no enrollment begun")
        assert secret is not None and account is not None
        attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        step = totp_codes.matching_step(secret, code, self._clock().timestamp())
        if step is None:
            self._record("totp_enroll", "failure", visit, reason="wrong code")
            self._failed(visit, attempt)
            raise CodeRejected()
        self._throttle.succeeded(attempt)
        codes = totp_codes.new_recovery_codes()
        key = self._store.site_secret("totp-recovery")
        previous = self._store.totp(account.guid)
        self._store.put_totp(
            TotpEnrollment(
                account_guid=account.guid,
                account_name=account.qualified_name,
                secret=self._secret_box().seal(secret, account.guid),
                last_step=step,  # the confirming code is used up
                recovery=tuple(totp_codes.recovery_digest(key, account.guid, c) for c in codes),
                enrolled_at=self._clock(),
            )
        )
        self._pending_totp.pop(visit, None)
        visit.password_proven = False  # one enrollment per proof
        self._record("totp_replace" if previous is not None else "totp_enroll", "success", visit)
        return tuple(codes)

    def _failure_reason(self, visit: Visit) -> str:
        if visit.account is None:
            return "unknown user"
        if not visit.eligibility.allowed:
            return f"ineligible: {visit.eligibility.reason}"
        if visit.enrollment is None:
            return "not enrolled"
        return "wrong answers"

    def _after_success(self, enrollment: Enrollment, questions: Sequence[Question], answers: Sequence[str]) -> None:
        # Bookkeeping must not turn a verified person away: failures here are logged.
        try:
            self._store.mark_used(enrollment.account_guid, self._clock())
            stored = {a.question_id: a.answer_hash for a in enrollment.answers}
            for question, answer in zip(questions, answers, strict=True):
                if question.id in stored and self._hasher.needs_rehash(stored[question.id]):
                    self._store.replace_hash(
                        enrollment.account_guid, question.id, self._hasher.hash(question, answer)
                    )
        except Exception as exc:  # noqa: BLE001 - any store failure is only bookkeeping here
            self._audit.record(
                "store", outcome="error", account=enrollment.account_name,
                reason=f"after verification: {type(exc).__name__}: {exc}",
            )

    def _bump_directory_count(self, visit: Visit) -> None:
        """Optionally count a failed answer in AD's badPwdCount (lockout parity)."""
        if not self._settings.throttle.bump_ad_bad_password_count or visit.account is None:
            return
        try:
            self._directory.verify_password(visit.account, "x" + secrets.token_urlsafe(24))
        except DirectoryError:
            pass  # the failed bind is the point

    # --- actions after verification ---------------------------------------------------------

    def unlock(self, visit: Visit) -> str:
        self._require(self.features.unlock, "unlock is switched off")
        try:
            account = self._verified_account(visit, event="unlock")
            self._directory.unlock(account)
        except DirectoryError as exc:
            self._record("unlock", "error", visit, reason=f"{exc.code}: {exc.detail}")
            raise
        self._record("unlock", "success", visit, was_locked=account.locked)
        visit.verified = False  # one action per verification
        self._proven.pop(visit, None)
        return account.qualified_name

    @_audit_faults("reset")
    def password_rules(self, visit: Visit) -> PasswordRules:
        account = self._verified_account(visit, refresh=False)
        policy = self._directory.password_policy(account)
        return rules_for(self._settings, policy, account)

    def reset_password(self, visit: Visit, new_password: str) -> str:
        """Set a new password (and clear a lockout). The directory judges;
        our own checklist only stops what the directory would let through."""
        self._require(self.features.reset, "reset is switched off")
        try:
            account = self._verified_account(visit, event="reset")
            rules = rules_for(self._settings, self._directory.password_policy(account), account)
        except DirectoryError as exc:
            self._record("reset", "error", visit, reason=f"{exc.code}: {exc.detail}")
            raise
        require_acceptable(rules, new_password)
        try:
            self._directory.reset_password(account, new_password)
            if account.locked:
                self._directory.unlock(account)
        except PasswordRejected as exc:
            self._record("reset", "refused", visit, reason=exc.reason)
            raise
        except DirectoryError as exc:
            self._record("reset", "error", visit, reason=f"{exc.code}: {exc.detail}")
            raise
        self._record("reset", "success", visit, was_locked=account.locked)
        visit.verified = False
        self._proven.pop(visit, None)
        return account.qualified_name

    # --- helpers ---------------------------------------------------------------------------------

    def _verified_account(self, visit: Visit, *, refresh: bool = True, event: str = "") -> Account:
        """The verified account; with ``refresh``, read again right before a
        write and checked again: an account disabled, expired or made
        privileged since the verification is refused (audited)."""
        if not visit.verified or visit.account is None:
            raise NotAllowed("not verified")
        if event and not self._sufficient(visit, event, self._proven.get(visit, frozenset())):
            raise NotAllowed("the policy's methods for this action were not all checked")
        if refresh:
            visit.account = self._directory.refresh(visit.account)
            visit.eligibility = self._account_eligibility(visit.account)
            if not visit.eligibility.allowed:
                visit.verified = False
                self._record(event, "refused", visit, reason=f"ineligible before the write: {visit.eligibility.reason}")
                raise NotAllowed(visit.eligibility.reason)
        return visit.account

    # --- change: the current password known (issue 17) --------------------------------------------
    #
    # For anyone who knows their current password, and above all for those
    # whose password expired or must be changed at next logon (AD 532/773 on a
    # bind): they cannot sign in anywhere to change it. No questions, no
    # enrollment. An unknown name, an ineligible account and a wrong current
    # password get the same answer (InvalidCredentials) after the same
    # directory work; a locked account is said (AD refuses the change until it
    # is unlocked). Failures count in the throttle as in ``prove_password``.

    #: The detail of a new password the kiosk's own checklist refused (no directory write).
    _CHECKLIST = "refused by the kiosk's checklist"

    def _change_refused(self, visit: Visit, password: str) -> Account | None:
        """The account to change, or None after the work of a refused bind
        (unknown or ineligible: the same directory work as a wrong password)."""
        account = visit.account
        if account is not None and visit.eligibility.allowed:
            return account
        with contextlib.suppress(InvalidCredentials):
            self._directory.bind_as_nobody(password)
        return None

    @_audit_faults("change")
    def check_current_password(self, visit: Visit, password: str) -> PasswordRules:
        """The first step of a change: the current password, by a bind. A right
        but expired or temporary one (532/773) is exactly who this is for.
        Returns the rules for the new password's checklist."""
        self._require(self.features.change, "change is switched off")
        try:
            attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        except Throttled as exc:
            self._record("change", "throttled", visit, reason=exc.describe(exc.retry_after))
            raise
        try:
            account = self._change_refused(visit, password)
            if account is None:
                raise InvalidCredentials("unknown user" if visit.account is None else f"ineligible: {visit.eligibility.reason}")
            try:
                self._directory.verify_password(account, password)
            except (PasswordExpired, PasswordMustChange):
                pass  # the right password, which must be changed: what this action is for
        except AccountLocked as exc:
            self._record("change", "refused", visit, reason=f"account locked ({exc.code})")
            self._failed(visit, attempt)
            raise AccountLocked("locked") from None
        except (InvalidCredentials, AccountExpired, AccountDisabled) as exc:
            known = visit.account is not None and visit.eligibility.allowed
            self._record("change", "failure", visit, reason=f"password not accepted ({exc.code})" if known else exc.detail)
            self._failed(visit, attempt)
            raise InvalidCredentials("invalid_credentials") from None
        self._throttle.succeeded(attempt)
        return rules_for(self._settings, self._directory.password_policy(account), account)

    @_audit_faults("change")
    def change_password(self, visit: Visit, old_password: str, new_password: str) -> tuple[str, bool]:
        """The directory's change operation (old + new in one modify: AD checks
        the old password and the history). Returns (the account's name, whether
        it has security questions set up: if not, the kiosk suggests it)."""
        self._require(self.features.change, "change is switched off")
        try:
            attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        except Throttled as exc:
            self._record("change", "throttled", visit, reason=exc.describe(exc.retry_after))
            raise
        try:
            account = self._change_refused(visit, old_password)
            if account is not None:
                # Read again right before the write: disabled or made privileged since?
                account = visit.account = self._directory.refresh(account)
                visit.eligibility = self._account_eligibility(account)
                if not visit.eligibility.allowed:
                    account = self._change_refused(visit, old_password)
            if account is None:
                raise InvalidCredentials("unknown user" if visit.account is None else f"ineligible: {visit.eligibility.reason}")
            reason = refusal(rules_for(self._settings, self._directory.password_policy(account), account), new_password)
            if reason is not None:
                raise PasswordRejected(reason, self._CHECKLIST)
            self._directory.change_password(account, old_password, new_password)
        except PasswordRejected as exc:
            if exc.reason != "wrong_old_password":
                if exc.detail != self._CHECKLIST:
                    # The directory judged the new password, so the old one was right. (A
                    # checklist refusal proved nothing: its attempt stays counted.)
                    self._throttle.succeeded(attempt)
                self._record("change", "refused", visit, reason=f"{exc.reason}: {exc.detail}")
                raise
            self._record("change", "failure", visit, reason="password not accepted (wrong old password)")
            self._failed(visit, attempt)
            raise InvalidCredentials("invalid_credentials") from None
        except AccountLocked as exc:
            self._record("change", "refused", visit, reason=f"account locked ({exc.code})")
            self._failed(visit, attempt)
            raise AccountLocked("locked") from None
        except InvalidCredentials as exc:
            self._record("change", "failure", visit, reason=exc.detail)
            self._failed(visit, attempt)
            raise InvalidCredentials("invalid_credentials") from None
        self._throttle.succeeded(attempt)
        self._record(
            "change", "success", visit,
            was_must_change=account.must_change_password,
            was_expired=bool(account.password_expires and account.password_expires <= self._clock()),
        )
        enrolled = True  # when the store cannot say, suggest nothing
        with contextlib.suppress(StoreError):
            enrolled = self._store.get(account.guid) is not None
        return account.qualified_name, enrolled
