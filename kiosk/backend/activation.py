"""Account activation: a new or migrated account is claimed at the kiosk.

The person proves who they are with directory attributes (``[activation]
proof``), chooses security answers (the enrollment questionnaire) and a
password. The rules that make it safe:

* **Nothing is written to the directory before ``complete``.** Reads only:
  no bind as the person (a bind would set lastLogonTimestamp and end their
  eligibility), no bad-password bump, no temporary password. Abandoning at any
  point leaves the entry unchanged and the person can start again at once.
* ``complete`` writes in one order: re-read and re-check the account, reset the
  password, unlock, store the enrollment, then the marker (and extra updates)
  LAST. The marker is what ends eligibility, so a failure at any earlier step
  leaves the account claimable; ``ActivationIncomplete`` names the step.
* Unknown, ineligible and already-activated people walk the same path as
  eligible ones (the same labels, the same throttle, ``VerificationFailed`` at
  the proof). The one exception: an eligible account that lacks a proof
  attribute is sent to the help desk (``ProofUnavailable``) rather than asked
  something it cannot answer.
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
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from kiosk.backend.eligibility import check_eligibility
from kiosk.backend.errors import (
    AccountNotFound,
    ActivationIncomplete,
    DirectoryError,
    NotAllowed,
    PasswordRejected,
    ProofUnavailable,
    Throttled,
    VerificationFailed,
)
from kiosk.backend.model import Account, Eligibility, Enrollment, StoredAnswer
from kiosk.backend.policy import PasswordRules, evaluate
from kiosk.backend.usecase import REJECTION_BY_CHECK, Backend, UseCase, Visit

if TYPE_CHECKING:
    from kiosk.config import ProofSettings, Settings

EVENT = "activate"


@dataclass(eq=False)
class ActivationVisit(Visit):
    """One activation attempt. Holds no secret: only what was proven."""

    #: Proof attributes the real account lacks (never shown to the person).
    missing: tuple[str, ...] = field(default=(), repr=False)
    proven: bool = False


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

    def begin(self, typed_name: str, terminal: str) -> ActivationVisit:
        """Look the person up. Never says whether they exist or may activate."""
        self._require(self._settings.features.activate, "activation is switched off")
        visit = ActivationVisit(typed_name=typed_name[:256], terminal=terminal, started_at=self._monotonic())
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
        """What to ask: the same labels for everyone, unless this (eligible)
        account lacks an attribute the proof needs: then ProofUnavailable."""
        if visit.account is not None and visit.eligibility.allowed and visit.missing:
            self._record_step(
                "refused", visit, step="proof",
                reason=f"account lacks proof attribute(s): {', '.join(visit.missing)}",
            )
            raise ProofUnavailable(visit.missing)
        return tuple(p.label for p in self._config.proof)

    def prove(self, visit: ActivationVisit, values: Sequence[str]) -> None:
        """All proof values at once; VerificationFailed says nothing about which,
        nor whether the account exists or may activate."""
        self._require(self._settings.features.activate, "activation is switched off")
        self._check_age(visit)
        try:
            attempt = self._throttle.begin_attempt(visit.throttle_key, visit.terminal)
        except Throttled as exc:
            self._record_step("throttled", visit, step="proof", reason=f"retry after {exc.retry_after:.0f}s")
            raise
        proofs = self._config.proof
        account = visit.account
        real = account is not None and visit.eligibility.allowed and not visit.missing
        current = self._directory.read_attributes(account, self._names()) if real and account else {}
        padded = list(values[: len(proofs)]) + [""] * (len(proofs) - len(values))
        results = [
            self._same(proof, typed, _values(current, proof.attribute) if real else [secrets.token_hex(8)])
            for proof, typed in zip(proofs, padded, strict=True)
        ]
        if real and len(values) == len(proofs) and all(results):
            self._throttle.succeeded(attempt)
            visit.proven = True
            self._record_step("success", visit, step="proof")
            return
        self._record_step("failure", visit, step="proof", reason=self._failure_reason(visit))
        self._throttle.failed(attempt)
        raise VerificationFailed()

    # --- questions and password (no writes) ---------------------------------------------

    def password_rules(self, visit: ActivationVisit) -> PasswordRules:
        account = self._proven_account(visit)
        return PasswordRules(self._directory.password_policy(account), account.name_parts())

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
        rules = PasswordRules(self._directory.password_policy(account), account.name_parts())
        failed = [check.key for check in evaluate(rules, new_password) if not check.ok]
        if failed:
            raise PasswordRejected(REJECTION_BY_CHECK[failed[0]])
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

        # 2. The password, by the administrative reset (no bind as the person).
        try:
            self._directory.reset_password(account, new_password)
        except PasswordRejected as exc:
            self._record_step("refused", visit, step="password", reason=exc.reason)
            raise
        except DirectoryError as exc:
            raise self._incomplete(visit, "password", exc, password_set=False) from exc

        # 3. A lockout from before (bad binds by someone) must not greet them.
        if account.locked:
            try:
                self._directory.unlock(account)
            except DirectoryError as exc:
                raise self._incomplete(visit, "unlock", exc, password_set=True) from exc

        # 4. The enrollment (replaces any earlier set for this objectGUID).
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
            raise self._incomplete(visit, "enrollment", exc, password_set=True) from exc

        # 5. The marker and extra updates, LAST: only now is the account claimed.
        try:
            self._directory.update_attributes(account, self._config.updates)
        except DirectoryError as exc:
            raise self._incomplete(visit, "marker", exc, password_set=True) from exc

        self._record_step(
            "success", visit, step="complete",
            questions=",".join(q for q, _ in answers), was_locked=account.locked,
        )
        visit.proven = False
        return account.qualified_name

    def end(self, visit: ActivationVisit) -> None:
        visit.account = None
        visit.proven = False
        visit.missing = ()

    # --- helpers ---------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [p.attribute for p in self._config.proof] + [self._config.marker.attribute]

    def _eligibility(self, account: Account, values: dict[str, list[str]]) -> Eligibility:
        """The eligibility rules AND the activation filter (checked by the directory)."""
        eligibility = check_eligibility(account, self._settings.eligibility)
        if not eligibility.allowed:
            return eligibility
        if not self._directory.matches(account, self._config.filter):
            if _present(values, self._config.marker.attribute):
                return Eligibility.refused("already activated")
            return Eligibility.refused("outside the activation filter (e.g. has logged on, or disabled)")
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

    def _incomplete(
        self, visit: ActivationVisit, step: str, exc: BaseException, *, password_set: bool
    ) -> ActivationIncomplete:
        visit.proven = False
        detail = f"{getattr(exc, 'code', type(exc).__name__)}: {getattr(exc, 'detail', '') or exc}"
        self._record_step("error", visit, step=step, reason=detail, credential_set=password_set, claimable=True)
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

