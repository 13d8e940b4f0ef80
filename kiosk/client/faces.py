"""The backend's faces as a session sees them: the ports, over the socket.

``RemoteSelfService``, ``RemoteActivation`` and ``RemoteHelpdesk`` implement
``SelfServicePort``, ``ActivationPort`` and ``HelpdeskPort`` (the type checker
proves it, at the end of this module) with one request per method; a visit
is a ``VisitHandle``. What the first screens show without a visit (features,
the questionnaire, the default domain) came with the backend's hello.
Each method is one line: a port's new method is one more line here and one
more name in ``kiosk.backend.server.CALLS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kiosk.backend.protocol import VisitHandle
from kiosk.client.connection import BackendConnection
from kiosk.i18n import SOURCE_LANGUAGE

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard
    from kiosk.backend.model import Account, Question, TotpSetup
    from kiosk.backend.policy import PasswordRules
    from kiosk.backend.questions import Questionnaire
    from kiosk.config import FeatureSettings


class _Face:
    face = ""

    def __init__(self, connection: BackendConnection) -> None:
        self._connection = connection

    @property
    def _shown(self) -> dict[str, Any]:
        shown = self._connection.shown.get(self.face)
        return shown if isinstance(shown, dict) else {}

    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._connection.call(f"{self.face}.{method}", *args, **kwargs)

    def _end(self, visit: VisitHandle) -> None:
        """A visit of an earlier connection ended with it: nothing to say."""
        if self._connection.current(visit):
            self._call("end", visit)


class RemoteSelfService(_Face):
    face = "self_service"

    def __init__(self, connection: BackendConnection) -> None:
        super().__init__(connection)
        shown = self._shown
        self.default_domain: str = shown["default_domain"]
        self.features: FeatureSettings = shown["features"]

    @property
    def questionnaire(self) -> Questionnaire:
        return self._shown["questionnaire"]

    @property
    def is_demo(self) -> bool:
        return bool(self._shown.get("is_demo"))

    @property
    def demo_hint(self) -> str | None:
        return self._shown.get("demo_hint")

    def requires_code(self, action: str) -> bool:
        return bool(self._shown.get("requires_code", {}).get(action, False))

    def begin(self, typed_name: str, terminal: str, language: str = SOURCE_LANGUAGE) -> VisitHandle:
        return self._call("begin", typed_name, terminal, language)

    def end(self, visit: VisitHandle) -> None:
        self._end(visit)

    def prove_password(self, visit: VisitHandle, password: str) -> None:
        self._call("prove_password", visit, password)

    def check_answer(
        self, visit: VisitHandle, question_id: str, answer: str, earlier_answers: Sequence[str] = ()
    ) -> None:
        self._call("check_answer", visit, question_id, answer, tuple(earlier_answers))

    def enroll(self, visit: VisitHandle, answers: Sequence[tuple[str, str]]) -> None:
        self._call("enroll", visit, tuple(answers))

    def challenge(self, visit: VisitHandle) -> tuple[Question, ...]:
        return self._call("challenge", visit)

    def verify(self, visit: VisitHandle, answers: Sequence[str]) -> None:
        self._call("verify", visit, tuple(answers))

    def unlock(self, visit: VisitHandle) -> str:
        return self._call("unlock", visit)

    def password_rules(self, visit: VisitHandle) -> PasswordRules:
        return self._call("password_rules", visit)

    def reset_password(self, visit: VisitHandle, new_password: str) -> str:
        return self._call("reset_password", visit, new_password)

    def verify_with_code(self, visit: VisitHandle, answers: Sequence[str], code: str) -> None:
        self._call("verify_with_code", visit, tuple(answers), code)

    def factor_choices(self, action: str) -> tuple[tuple[str, ...], ...]:
        return self._call("factor_choices", action)

    def send_code(self, visit: VisitHandle) -> str:
        return self._call("send_code", visit)

    def verify_factors(
        self, visit: VisitHandle, action: str, methods: Sequence[str], answers: Sequence[str], code: str
    ) -> None:
        self._call("verify_factors", visit, action, tuple(methods), tuple(answers), code)

    def totp_begin(self, visit: VisitHandle) -> TotpSetup:
        return self._call("totp_begin", visit)

    def totp_confirm(self, visit: VisitHandle, code: str) -> tuple[str, ...]:
        return self._call("totp_confirm", visit, code)

    def check_current_password(self, visit: VisitHandle, password: str) -> PasswordRules:
        return self._call("check_current_password", visit, password)

    def change_password(self, visit: VisitHandle, old_password: str, new_password: str) -> tuple[str, bool]:
        return self._call("change_password", visit, old_password, new_password)


class RemoteActivation(_Face):
    face = "activation"

    @property
    def questionnaire(self) -> Questionnaire:
        return self._shown["questionnaire"]

    @property
    def limit_seconds(self) -> float:
        return float(self._shown["limit_seconds"])

    def begin(self, typed_name: str, terminal: str, language: str = SOURCE_LANGUAGE) -> VisitHandle:
        return self._call("begin", typed_name, terminal, language)

    def end(self, visit: VisitHandle) -> None:
        self._end(visit)

    def proof_labels(self, visit: VisitHandle) -> tuple[str, ...]:
        return self._call("proof_labels", visit)

    def prove(self, visit: VisitHandle, values: Sequence[str]) -> None:
        self._call("prove", visit, tuple(values))

    def check_answer(
        self, visit: VisitHandle, question_id: str, answer: str, earlier_answers: Sequence[str] = ()
    ) -> None:
        self._call("check_answer", visit, question_id, answer, tuple(earlier_answers))

    def password_rules(self, visit: VisitHandle) -> PasswordRules:
        return self._call("password_rules", visit)

    def complete(self, visit: VisitHandle, answers: Sequence[tuple[str, str]], new_password: str) -> str:
        return self._call("complete", visit, tuple(answers), new_password)


class RemoteHelpdesk(_Face):
    """The operator is whoever this process runs as: the backend asks the
    kernel (SO_PEERCRED), never this side."""

    face = "helpdesk"

    def __init__(self, connection: BackendConnection) -> None:
        super().__init__(connection)
        self._authorized_in = 0  # the connection's generation when authorized (0: never)

    @property
    def operator(self) -> str:
        return str(self._shown.get("operator", ""))

    @property
    def needs_operator_password(self) -> bool:
        return bool(self._shown.get("needs_operator_password", True))

    @property
    def authorized(self) -> bool:
        """Authorized on the connection as it is now (a restarted backend forgot)."""
        return self._authorized_in != 0 and self._authorized_in == self._connection.generation

    def authorize(self, password: str | None = None) -> None:
        self._call("authorize", password)
        self._authorized_in = self._connection.generation

    def search(self, text: str, *, limit: int = 50) -> list[Account]:
        return self._call("search", text, limit=limit)

    def card(self, account: Account) -> AccountCard:
        return self._call("card", account)

    def caller_questions(self, account: Account) -> tuple[VisitHandle, tuple[Question, ...]]:
        return self._call("caller_questions", account)

    def verify_caller(self, visit: VisitHandle, answers: Sequence[str]) -> None:
        self._call("verify_caller", visit, tuple(answers))

    def caller_code(self, account: Account, method: str) -> tuple[VisitHandle, str]:
        return self._call("caller_code", account, method)

    def verify_caller_code(self, visit: VisitHandle, code: str) -> None:
        self._call("verify_caller_code", visit, code)

    def unlock(self, account: Account) -> None:
        self._call("unlock", account)

    def reset(self, account: Account, *, revoke_answers: bool = False) -> str:
        return self._call("reset", account, revoke_answers=revoke_answers)

    def revoke(self, account: Account, method: str = "questions") -> bool:
        return self._call("revoke", account, method)

    def clear_attempts(self, account: Account, *, verified_elsewhere: bool = False) -> int:
        return self._call("clear_attempts", account, verified_elsewhere=verified_elsewhere)


if TYPE_CHECKING:  # the faces satisfy the ports (checked by the type checker, never run)
    from kiosk.backend.ports import ActivationPort, HelpdeskPort, SelfServicePort

    def _the_faces_satisfy_the_ports(
        service: RemoteSelfService, activation: RemoteActivation, helpdesk: RemoteHelpdesk
    ) -> None:
        _service: SelfServicePort[VisitHandle] = service
        _activation: ActivationPort[VisitHandle] = activation
        _helpdesk: HelpdeskPort[VisitHandle] = helpdesk
