"""An in-memory SelfService with the real API, for deterministic UI tests.

It keeps the rules simple and visible: alice is enrolled (answers "Paris",
"Rex", "Elm Street"), bob is not enrolled (password "Bob-pass1"), anyone else
is unknown and gets decoy questions. It records which methods were called and
with which non-secret arguments; answers and passwords it checks but the test
reads them only through ``secrets_seen`` when it must prove where they went.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING
from collections.abc import Sequence
from dataclasses import dataclass, field

from kiosk.backend.errors import (
    ActivationIncomplete,
    AnswerRejected,
    CodeRejected,
    DirectoryUnavailable,
    InvalidCredentials,
    PasswordRejected,
    ProofUnavailable,
    SecondFactorFailed,
    VerificationFailed,
)
from kiosk.backend.model import PasswordPolicy, Question, TotpSetup
from kiosk.backend.policy import PasswordRules
from kiosk.backend.activation import ActivationVisit
from kiosk.backend.questions import GroupStep, Questionnaire, SingleStep
from kiosk.backend.usecase import Visit
from kiosk.config import FeatureSettings

CITY = Question("birth-city", "In which city or town were you born?")
PET = Question("first-pet", "What was the name of your first pet?")
SCHOOL = Question("first-school", "What was the name of your first school?")
STREET = Question("childhood-street", "What street did you live on as a child?")


def FakeQuestionnaire() -> Questionnaire:  # noqa: N802 - was a class; a real questionnaire now
    """One question, then two picked from a group of three."""
    return Questionnaire(
        steps=(SingleStep(CITY), GroupStep("Memories", 2, (PET, SCHOOL, STREET))),
        questions={q.id: q for q in (CITY, PET, SCHOOL, STREET)},
    )


@dataclass(eq=False)
class FakeVisit(Visit):
    reference: str = "K-4F7A2C"


@dataclass
class FakeService:
    features: FeatureSettings = field(default_factory=FeatureSettings)
    directory_label: str = "DEMO directory"
    is_demo: bool = False
    demo_hint: str | None = None
    default_domain: str = "KIOSK"
    questionnaire: Questionnaire = field(default_factory=FakeQuestionnaire)
    down: bool = False
    #: set to make every call wait until the test releases it
    gate: threading.Event | None = None
    calls: list[tuple] = field(default_factory=list)
    #: the language each visit began in (its mails' language)
    languages: list[str] = field(default_factory=list)
    secrets_seen: list[str] = field(default_factory=list)
    enrolled: dict[str, list[tuple[str, str]]] = field(
        default_factory=lambda: {
            "alice": [("birth-city", "paris"), ("first-pet", "rex"), ("childhood-street", "elm street")]
        }
    )
    passwords: dict[str, str] = field(default_factory=lambda: {"alice": "Alice-pass1", "bob": "Bob-pass1"})
    history: set[str] = field(default_factory=lambda: {"Used-Before1"})
    #: the actions whose policy asks for an authenticator's code
    code_actions: set[str] = field(default_factory=set)
    #: the actions whose policy offers questions + TOTP or questions + an e-mailed code (424242)
    email_actions: set[str] = field(default_factory=set)
    #: the one right code of each person with an authenticator
    totp_codes: dict[str, str] = field(default_factory=lambda: {"alice": "123456"})

    def _wait(self) -> None:
        if self.gate is not None:
            self.gate.wait(10)

    @staticmethod
    def _user(visit: Visit) -> str:
        return visit.typed_name.strip().lower().rpartition("\\")[2].partition("@")[0]

    def begin(self, typed_name: str, terminal: str, language: str = "en") -> FakeVisit:
        self._wait()
        self.calls.append(("begin", typed_name))
        self.languages.append(language)
        if self.down:
            raise DirectoryUnavailable("no DC answered")
        return FakeVisit(typed_name, terminal)

    def prove_password(self, visit: Visit, password: str) -> None:
        self._wait()
        self.calls.append(("prove_password", visit.typed_name))
        self.secrets_seen.append(password)
        if self.passwords.get(self._user(visit)) != password:
            raise InvalidCredentials("52e")
        visit.password_proven = True

    def check_answer(self, visit: Visit, question_id: str, answer: str, earlier_answers: Sequence[str] = ()) -> None:
        self.calls.append(("check_answer", question_id, len(earlier_answers)))
        if len(answer.strip()) < 3:
            raise AnswerRejected("Use at least 3 characters.")
        if answer.strip().casefold() in {a.strip().casefold() for a in earlier_answers}:
            raise AnswerRejected("Use a different answer for each question.")

    def enroll(self, visit: Visit, answers: Sequence[tuple[str, str]]) -> None:
        self._wait()
        self.calls.append(("enroll", tuple(q for q, _ in answers)))
        assert visit.password_proven
        self.enrolled[self._user(visit)] = [(q, a.strip().casefold()) for q, a in answers]

    def challenge(self, visit: Visit) -> tuple[Question, ...]:
        self._wait()
        self.calls.append(("challenge", visit.typed_name))
        by_id = {q.id: q for q in (CITY, PET, SCHOOL, STREET)}
        enrolled = self.enrolled.get(self._user(visit))
        if enrolled is None:  # decoys: same shape as a real challenge
            return (CITY, PET, SCHOOL)
        return tuple(by_id[q] for q, _ in enrolled)

    def verify(self, visit: Visit, answers: Sequence[str]) -> None:
        self._wait()
        self.calls.append(("verify", len(answers)))
        self.secrets_seen.extend(answers)
        enrolled = self.enrolled.get(self._user(visit))
        if enrolled is None or [a for _, a in enrolled] != [a.strip().casefold() for a in answers]:
            raise VerificationFailed()
        visit.verified = True

    def unlock(self, visit: Visit) -> str:
        self.calls.append(("unlock",))
        assert visit.verified
        return f"KIOSK\\{self._user(visit)}"

    def password_rules(self, visit: Visit) -> PasswordRules:
        self.calls.append(("password_rules",))
        assert visit.verified
        return PasswordRules(PasswordPolicy(min_length=8, complexity=True), name_parts=(self._user(visit),))

    def reset_password(self, visit: Visit, new_password: str) -> str:
        self._wait()
        self.calls.append(("reset_password",))
        self.secrets_seen.append(new_password)
        assert visit.verified
        if new_password in self.history:
            raise PasswordRejected("in_history")
        self.passwords[self._user(visit)] = new_password
        return f"KIOSK\\{self._user(visit)}"

    def requires_code(self, action: str) -> bool:
        return action in self.code_actions

    def factor_choices(self, action: str) -> tuple[tuple[str, ...], ...]:
        if action in self.email_actions:
            return (("questions", "totp"), ("questions", "email"))
        return (("questions", "totp"),) if action in self.code_actions else (("questions",),)

    def send_code(self, visit: Visit) -> str:
        self.calls.append(("send_code",))
        user = self._user(visit)
        return f"{user[:1] or 'x'}***@demo.example"

    def verify_factors(
        self, visit: Visit, action: str, methods: Sequence[str], answers: Sequence[str], code: str
    ) -> None:
        if tuple(methods) == ("questions", "email"):
            self.calls.append(("verify_factors", len(answers)))
            self.secrets_seen.extend([*answers, code])
            enrolled = self.enrolled.get(self._user(visit))
            right = enrolled is not None and [a for _, a in enrolled] == [a.strip().casefold() for a in answers]
            if not right or code.strip() != "424242":
                raise SecondFactorFailed()
            visit.verified = True
            return
        self.verify_with_code(visit, answers, code)

    def verify_with_code(self, visit: Visit, answers: Sequence[str], code: str) -> None:
        self._wait()
        self.calls.append(("verify_with_code", len(answers)))
        self.secrets_seen.extend([*answers, code])
        enrolled = self.enrolled.get(self._user(visit))
        right = enrolled is not None and [a for _, a in enrolled] == [a.strip().casefold() for a in answers]
        if not right or self.totp_codes.get(self._user(visit)) != code.strip():
            raise SecondFactorFailed()
        visit.verified = True

    def totp_begin(self, visit: Visit) -> TotpSetup:
        self.calls.append(("totp_begin",))
        assert visit.password_proven
        secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        user = self._user(visit)
        return TotpSetup(secret=secret, uri=f"otpauth://totp/Kiosk:{user}?secret={secret}&issuer=Kiosk", label=user)

    def totp_confirm(self, visit: Visit, code: str) -> tuple[str, ...]:
        self._wait()
        self.calls.append(("totp_confirm",))
        if code.strip() != "123456":
            raise CodeRejected()
        return tuple(f"abcd{n}-efgh{n}" for n in range(10))
    def check_current_password(self, visit: Visit, password: str) -> PasswordRules:
        self._wait()
        self.calls.append(("check_current_password", visit.typed_name))
        self.secrets_seen.append(password)
        if self.passwords.get(self._user(visit)) != password:
            raise InvalidCredentials("52e")
        return PasswordRules(PasswordPolicy(min_length=8, complexity=True), name_parts=(self._user(visit),))

    def change_password(self, visit: Visit, old_password: str, new_password: str) -> tuple[str, bool]:
        self._wait()
        self.calls.append(("change_password",))
        self.secrets_seen.extend((old_password, new_password))
        user = self._user(visit)
        if self.passwords.get(user) != old_password:
            raise InvalidCredentials("52e")
        if new_password in self.history or new_password == old_password:
            raise PasswordRejected("in_history")
        self.passwords[user] = new_password
        return f"KIOSK\\{user}", user in self.enrolled

    def end(self, visit: Visit) -> None:
        self.calls.append(("end",))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


@dataclass(eq=False)
class FakeActivationVisit(ActivationVisit):
    reference: str = "K-4F7A2C"


@dataclass
class FakeActivation:
    """Activation's API in memory: erin proves with E2001; fred lacks the
    employee ID (help desk); anyone else fails the proof like an unknown name.
    ``fail_complete`` makes the final step stop part-way (the marker)."""

    questionnaire: Questionnaire = field(default_factory=FakeQuestionnaire)
    limit_seconds: float = 1200
    labels: tuple[str, ...] = ("Employee ID",)
    fail_complete: bool = False
    calls: list[tuple] = field(default_factory=list)

    def begin(self, typed_name: str, terminal: str, language: str = "en") -> FakeActivationVisit:
        self.calls.append(("begin", typed_name, language))
        visit = FakeActivationVisit(typed_name, terminal)
        if FakeService._user(visit) == "fred":
            visit.missing = ("employeeID",)
        return visit

    def proof_labels(self, visit: ActivationVisit) -> tuple[str, ...]:
        self.calls.append(("proof_labels",))
        if visit.missing:
            raise ProofUnavailable(visit.missing)
        return self.labels

    def prove(self, visit: ActivationVisit, values: Sequence[str]) -> None:
        self.calls.append(("prove", len(values)))
        if FakeService._user(visit) != "erin" or [v.strip().upper() for v in values] != ["E2001"]:
            raise VerificationFailed()
        visit.proven = True

    def check_answer(self, visit: Visit, question_id: str, answer: str, earlier_answers: Sequence[str] = ()) -> None:
        FakeService.check_answer(self, visit, question_id, answer, earlier_answers)  # type: ignore[arg-type]

    def password_rules(self, visit: ActivationVisit) -> PasswordRules:
        self.calls.append(("password_rules",))
        assert visit.proven
        return PasswordRules(PasswordPolicy(min_length=8, complexity=True), name_parts=("erin",))

    def complete(self, visit: ActivationVisit, answers: Sequence[tuple[str, str]], new_password: str) -> str:
        self.calls.append(("complete", tuple(q for q, _ in answers)))
        assert visit.proven
        if self.fail_complete:
            raise ActivationIncomplete("marker", password_set=True)
        return "KIOSK\\erin"

    def end(self, visit: ActivationVisit) -> None:
        self.calls.append(("end",))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


if TYPE_CHECKING:  # the fakes keep to the ports the UI is typed against (tests/ui/test_fakes_typed.py)
    from kiosk.backend.ports import ActivationPort, SelfServicePort

    _service: SelfServicePort = FakeService()
    _activation: ActivationPort = FakeActivation()
