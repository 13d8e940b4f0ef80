"""Account activation: a new or migrated account is claimed at the kiosk.

The person proves who they are with an activation code an administrator
issued to them (``kiosk activation issue USER``: random, expiring, single use,
stored only as an HMAC under a site secret), plus any directory attributes
configured in ``[activation] proof``; then they choose security answers (the
enrollment questionnaire) and a password. The rules that make it safe:

* **Nothing is written to the directory before ``complete``.** Reads only:
  no bind as the person (a bind would set lastLogonTimestamp and end their
  eligibility), no bad-password bump, no temporary password. Abandoning at any
  point leaves the entry unchanged and the person can start again at once.
* Only a new account may be claimed: the activation filter AND pwdLastSet=0
  (nobody has set a password the person could know) AND the eligibility rules.
* ``complete`` writes in one order: re-read and re-check the account, use the
  code up, reset the password, unlock, store the enrollment, then the marker
  (and extra updates) LAST. A failure after the code was taken gives the code
  back, and a password already written is replaced by a random one with
  must-change (pwdLastSet=0 again), so the account stays claimable with the
  same code; ``ActivationIncomplete`` names the step.
* Unknown, ineligible and already-activated people walk the same path as
  eligible ones (the same labels, the same throttle, the same reads,
  ``VerificationFailed`` at the proof); an account without a code or without
  a proof attribute fails the proof like a wrong value.
* Proof values are throttled exactly like answers (counted before checking)
  and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from kiosk.backend.errors import (
    AccountNotFound,
    ActivationIncomplete,
    DirectoryError,
    NotAllowed,
    PasswordRejected,
    Throttled,
    VerificationFailed,
)
from kiosk.backend.model import Account, Eligibility, Enrollment, StoredAnswer
from kiosk.backend.policy import PasswordRules, require_acceptable, rules_for
from kiosk.backend.usecase import Backend, UseCase, Visit
from kiosk.config.schema import language_text
from kiosk.i18n import SOURCE_LANGUAGE

if TYPE_CHECKING:
    from kiosk.config import ProofSettings, Settings

EVENT = "activate"
#: The label of the first proof, the activation code.
CODE_LABEL = "Activation code"
#: The site secret under which activation codes are kept (HMAC-SHA256).
CODE_SECRET = "activation-codes"
#: No look-alikes (0/O, 1/I): codes are read off paper or a phone.
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
#: Only a new account: nobody has set a password the person could know.
NEW_PASSWORD_FILTER = "(pwdLastSet=0)"


def new_activation_code() -> str:
    """16 symbols of 32 (80 bits), grouped by four: ``K7QX-...``."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(chars[i : i + 4] for i in range(0, 16, 4))


def code_digest(store, typed: str) -> bytes:
    """How a code is kept and compared: HMAC-SHA256 under the site's code secret."""
    secret = store.site_secret(CODE_SECRET)
    return hmac.new(secret, normalise_code(typed).encode("ascii", "replace"), hashlib.sha256).digest()


def normalise_code(typed: str) -> str:
    """What is compared: capitals, no spaces or dashes."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", typed).upper() if ch.isalnum())


@dataclass(eq=False)
class ActivationVisit(Visit):
    """One activation attempt. Holds no secret: only what was proven."""

    #: Proof attributes the real account lacks (for the audit log only).
    missing: tuple[str, ...] = field(default=(), repr=False)
    proven: bool = False
    #: The proven code's keyed digest and its store row (to use it up, or give it back).
    code: tuple[bytes, datetime, str] | None = field(default=None, repr=False)


def normalise_proof(value: str, match: str) -> str:
    """How a proof value is compared: ``exact`` as typed; ``casefold`` ignores
    capitals and outer spaces; ``casefold_nospace`` ignores all spaces too."""
    if match == "exact":
        return value
    text = unicodedata.normalize("NFKC", value).casefold().strip()
    if match == "casefold_nospace":
        return "".join(text.split())
    return " ".join(text.split())


class Activation(UseCase):
    """The activation use case. Same collaborators as SelfService (a Backend),
    and the same questionnaire and answer rules (``UseCase``)."""

    def __init__(
        self,
        settings: Settings,
        backend: Backend,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(settings, backend, clock=clock)
        self._config = settings.activation
        self._monotonic = monotonic
        # Proof values are compared as keyed digests: equal length, constant time.
        self._compare_key = secrets.token_bytes(32)

    @property
    def limit_seconds(self) -> int:
        return self._settings.kiosk.activation_limit_seconds

    # --- identity ------------------------------------------------------------------

    def begin(self, typed_name: str, terminal: str, language: str = SOURCE_LANGUAGE) -> ActivationVisit:
        """Look the person up. Never says whether they exist or may activate."""
        self._require(self._settings.features.activate, "activation is switched off")
        visit = ActivationVisit(
            typed_name=typed_name[:256], terminal=terminal, started_at=self._monotonic(),
            language=self._visit_language(language),
        )
        identity = self._identity(typed_name)
        visit.name_key = self.name_key(typed_name)
        if identity is not None:
            visit.account = self._directory.find_account(identity)
        if visit.account is not None:
            values = self._directory.read_attributes(visit.account, self._names())
            visit.missing = tuple(p.attribute for p in self._config.proof if not _present(values, p.attribute))
            visit.eligibility = self._eligibility(visit.account, values)
        return visit

    def proof_labels(self, visit: ActivationVisit) -> tuple[str, ...]:
        """What to ask: the same labels for everyone (the code first)."""
        return (CODE_LABEL, *(language_text(p.label) for p in self._config.proof))

    def prove(self, visit: ActivationVisit, values: Sequence[str]) -> None:
        """The code and the proof values at once; VerificationFailed says
        nothing about which was wrong, whether the account exists, may
        activate, has a code or has the attribute."""
        self._require(self._settings.features.activate, "activation is switched off")
        self._check_age(visit)
        try:
            attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        except Throttled as exc:
            self._record_step("throttled", visit, step="proof", reason=exc.describe(exc.retry_after))
            raise
        proofs = self._config.proof
        account = visit.account
        real = account is not None and visit.eligibility.allowed
        padded = list(values[: len(proofs) + 1]) + [""] * (len(proofs) + 1 - len(values))
        # The same reads for every account, claimable or not.
        stored = self._store.activation_code(account.guid if account is not None else "-")
        current = self._directory.read_attributes(account, self._names()) if account is not None and proofs else {}
        digest = self._code_digest(padded[0])
        code_ok = (
            stored is not None
            and hmac.compare_digest(digest, stored[0])
            and stored[1] > self._clock()
            and bool(normalise_code(padded[0]))
        )
        results = [
            self._same(proof, typed, _values(current, proof.attribute) or [secrets.token_hex(8)])
            for proof, typed in zip(proofs, padded[1:], strict=True)
        ]
        if real and code_ok and len(values) == len(proofs) + 1 and all(results):
            self._throttle.succeeded(attempt)
            visit.proven = True
            visit.code = stored
            self._record_step("success", visit, step="proof")
            return
        reason = self._failure_reason(visit)
        if reason == "wrong proof values" and not code_ok:
            reason = "no valid activation code" if stored is None or stored[1] <= self._clock() else "wrong activation code"
        self._record_step("failure", visit, step="proof", reason=reason)
        self._failed(visit, attempt)
        raise VerificationFailed()

    # --- issuing codes (administrators) -----------------------------------------------------

    def issue_code(self, account: Account, issued_by: str) -> tuple[str, datetime]:
        """A new activation code for an account that may activate (replacing
        any earlier one); returned once, kept only as a keyed digest. NotAllowed
        (with the reason) for an account that could not use it."""
        values = self._directory.read_attributes(account, self._names())
        eligibility = self._eligibility(account, values)
        if not eligibility.allowed:
            self._audit.record("activation_code", outcome="refused", account=account.qualified_name,
                               operator=issued_by, reason=eligibility.reason)
            raise NotAllowed(eligibility.reason)
        code = new_activation_code()
        expires_at = self._clock() + timedelta(hours=self._config.code_valid_hours)
        self._store.put_activation_code(account.guid, self._code_digest(code), expires_at, issued_by)
        self._audit.record("activation_code", outcome="issued", account=account.qualified_name,
                           operator=issued_by, expires_at=expires_at.isoformat())
        return code, expires_at

    # --- questions and password (no writes) ---------------------------------------------

    def password_rules(self, visit: ActivationVisit) -> PasswordRules:
        account = self._proven_account(visit)
        return rules_for(self._settings, self._directory.password_policy(account), account)

    # --- the one step that writes ---------------------------------------------------------

    def complete(self, visit: ActivationVisit, answers: Sequence[tuple[str, str]], new_password: str) -> str:
        """Claim the account. Order: re-check, password, unlock, enrollment,
        marker last. Before the password write, a refusal changes nothing
        (PasswordRejected, AnswerRejected, NotAllowed); after it, a failure is
        ActivationIncomplete and the account stays claimable."""
        self._require(self._settings.features.activate, "activation is switched off")
        self._check_age(visit)
        account = self._proven_account(visit)

        # Everything that can be refused without the directory, before any write.
        self.questionnaire.validate_selection([question_id for question_id, _ in answers])
        earlier: list[str] = []
        for question_id, answer in answers:
            self.check_answer(visit, question_id, answer, earlier)
            earlier.append(answer)
        rules = rules_for(self._settings, self._directory.password_policy(account), account)
        require_acceptable(rules, new_password)
        questions = self.questionnaire.questions
        stored = tuple(
            StoredAnswer(question_id, questions[question_id].text, self._hasher.hash(questions[question_id], answer))
            for question_id, answer in answers
        )

        # 1. Someone may have activated (or changed) the account meanwhile.
        try:
            account = self._directory.refresh(account)
            eligibility = self._eligibility(account, self._directory.read_attributes(account, self._names()))
        except AccountNotFound:
            eligibility = Eligibility.refused("account is gone")
        except DirectoryError as exc:
            self._record_step("error", visit, step="recheck", reason=f"{exc.code}: {exc.detail}")
            raise
        if not eligibility.allowed:
            visit.proven = False
            self._record_step("refused", visit, step="recheck", reason=eligibility.reason)
            raise NotAllowed(eligibility.reason)
        visit.account = account

        # 2. The code is used up here, once: a second visit with it stops now.
        assert visit.code is not None
        if not self._store.take_activation_code(account.guid, visit.code[0], self._clock()):
            visit.proven = False
            self._record_step("refused", visit, step="code", reason="the activation code was used, replaced or expired")
            raise NotAllowed("the activation code is no longer valid")

        # 3. The password, by the administrative reset (no bind as the person).
        try:
            self._directory.reset_password(account, new_password)
        except PasswordRejected as exc:
            self._give_code_back(visit, account)
            self._record_step("refused", visit, step="password", reason=exc.reason)
            raise
        except DirectoryError as exc:
            raise self._incomplete(visit, account, "password", exc, password_set=False) from exc

        # 4. A lockout from before (bad binds by someone) must not greet them.
        if account.locked:
            try:
                self._directory.unlock(account)
            except DirectoryError as exc:
                raise self._incomplete(visit, account, "unlock", exc, password_set=True) from exc

        # 5. The enrollment (replaces any earlier set for this objectGUID).
        try:
            self._store.put(
                Enrollment(
                    account_guid=account.guid,
                    account_name=account.qualified_name,
                    answers=stored,
                    enrolled_at=self._clock(),
                )
            )
        except Exception as exc:  # noqa: BLE001 - any store failure leaves the account claimable
            raise self._incomplete(visit, account, "enrollment", exc, password_set=True) from exc

        # 6. The marker and extra updates, LAST: only now is the account claimed.
        try:
            self._directory.update_attributes(account, self._config.updates)
        except DirectoryError as exc:
            raise self._incomplete(visit, account, "marker", exc, password_set=True) from exc

        self._record_step(
            "success", visit, step="complete",
            questions=",".join(q for q, _ in answers), was_locked=account.locked,
        )
        visit.proven = False
        visit.code = None
        return account.qualified_name

    def end(self, visit: ActivationVisit) -> None:
        visit.account = None
        visit.proven = False
        visit.missing = ()
        visit.code = None

    # --- helpers ---------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [p.attribute for p in self._config.proof] + [self._config.marker.attribute]

    def _eligibility(self, account: Account, values: dict[str, list[str]]) -> Eligibility:
        """The eligibility rules AND the activation filter (checked by the directory)."""
        eligibility = self._account_eligibility(account)
        if not eligibility.allowed:
            return eligibility
        if not self._directory.matches(account, f"(&{self._config.filter}{NEW_PASSWORD_FILTER})"):
            if _present(values, self._config.marker.attribute):
                return Eligibility.refused("already activated")
            return Eligibility.refused(
                "outside the activation filter (e.g. has logged on, a password was set (pwdLastSet), or disabled)"
            )
        return eligibility

    def _same(self, proof: ProofSettings, typed: str, stored: Sequence[str]) -> bool:
        # Every stored value is compared (no early exit), as digests of equal length.
        typed_digest = self._digest(normalise_proof(typed, proof.match))
        matches = [hmac.compare_digest(typed_digest, self._digest(normalise_proof(v, proof.match))) for v in stored]
        return bool(typed.strip()) and any(matches)

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._compare_key, text.encode("utf-8"), hashlib.sha256).digest()

    def _failure_reason(self, visit: ActivationVisit) -> str:
        if visit.account is None:
            return "unknown user"
        if not visit.eligibility.allowed:
            return f"ineligible: {visit.eligibility.reason}"
        if visit.missing:
            return f"account lacks proof attribute(s): {', '.join(visit.missing)}"
        return "wrong proof values"

    def _proven_account(self, visit: ActivationVisit) -> Account:
        if not visit.proven or visit.account is None:
            raise NotAllowed("identity not proven")
        return visit.account

    def _check_age(self, visit: ActivationVisit) -> None:
        if self._monotonic() - visit.started_at > self.limit_seconds:
            visit.proven = False
            self._record_step("refused", visit, reason=f"activation took longer than {self.limit_seconds}s")
            raise NotAllowed("the activation took too long; start again")

    def _code_digest(self, typed: str) -> bytes:
        return code_digest(self._store, typed)

    def _give_code_back(self, visit: ActivationVisit, account: Account) -> bool:
        """The code, taken by ``complete``, is the person's again (nothing was claimed)."""
        if visit.code is None:
            return False
        digest, expires_at, issued_by = visit.code
        try:
            self._store.put_activation_code(account.guid, digest, expires_at, issued_by)
        except Exception:  # noqa: BLE001 - the audit says the code is gone; an administrator issues another
            return False
        return True

    def _incomplete(
        self, visit: ActivationVisit, account: Account, step: str, exc: BaseException, *, password_set: bool
    ) -> ActivationIncomplete:
        """Stopped part-way: a password already written is replaced by a random
        one with must-change (pwdLastSet=0: claimable again, and nobody knows
        it), and the code is given back."""
        visit.proven = False
        if password_set:
            try:
                self._directory.reset_password(account, secrets.token_urlsafe(32) + "aA1!", must_change=True)
                password_set = False
            except DirectoryError:
                pass
        code_back = self._give_code_back(visit, account)
        visit.code = None
        detail = f"{getattr(exc, 'code', type(exc).__name__)}: {getattr(exc, 'detail', '') or exc}"
        self._record_step(
            "error", visit, step=step, reason=detail, credential_set=password_set,
            claimable=not password_set, code_returned=code_back,
        )
        return ActivationIncomplete(step, password_set=password_set, detail=f"step {step}: {detail}")

    def _record_step(self, outcome: str, visit: ActivationVisit, *, reason: str = "", **fields) -> None:
        self._record(EVENT, outcome, visit, reason=reason, **fields)


def _values(values: dict[str, list[str]], name: str) -> list[str]:
    for key, found in values.items():
        if key.lower() == name.lower():
            return [v for v in found if v]
    return []


def _present(values: dict[str, list[str]], name: str) -> bool:
    return bool(_values(values, name))

