"""What the self-service flows share: Identify first,
then a visit begun in ``SelfService`` and ended there; unlock and reset go on
through the security questions (``ChallengedFlow``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk.backend.errors import VerificationFailed
from kiosk.flows.base import Flow
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.code import CodeScreen

if TYPE_CHECKING:
    from kiosk.backend.ports import SelfServicePort
    from kiosk.backend.usecase import Visit


class SelfServiceFlow(Flow):
    """Identify, then a ``SelfService`` visit."""

    _visit: Visit | None = None

    @property
    def service(self) -> SelfServicePort:
        service = self.host.service
        assert service is not None, "a flow starts once the service is ready"
        return service

    @property
    def visit(self) -> Visit | None:
        return self._visit

    def start(self) -> None:
        self.ask_identity(self.service.default_domain)

    def identified(self, typed: str) -> None:
        self._end_visit()  # back to Identify and on again: a new visit
        self.typed_name = typed
        self.begin(typed)

    def begin(self, typed: str) -> None:
        raise NotImplementedError

    def end(self) -> None:
        self._end_visit()

    def _end_visit(self) -> None:
        visit, self._visit = self._visit, None
        if visit is not None:
            self.end_in_background(visit)

    def end_in_background(self, visit: Visit) -> None:
        """Ending is best effort: a failure is logged, never shown."""
        service = self.service
        self.host.in_background(lambda: service.end(visit))


class PasswordFirstFlow(SelfServiceFlow):
    """Identify -> a visit begun -> the person's current password first
    (enroll, set up an authenticator app, change the password): subclasses
    show their password screen in ``ask_password``."""

    def begin(self, typed: str) -> None:
        service, terminal = self.service, self.host.terminal
        self.host.call_backend(
            lambda: service.begin(typed, terminal), self._begun, on_stale=self.end_in_background
        )

    def _begun(self, visit: Visit) -> None:
        self._visit = visit
        self.ask_password()

    def ask_password(self) -> None:
        raise NotImplementedError


class ChallengedFlow(SelfServiceFlow):
    """Identify -> the security questions [-> the authenticator's code] ->
    verified (unlock, reset).

    When the policy asks for a code for this action (``requires_code``, the
    same for everyone), the answers are kept until the code screen and go to
    the backend together with the code, in one call: nobody learns whether the
    answers alone were right, and unknown or unenrolled people see the same
    screens as everyone else. Subclasses say what follows a verification:
    ``then`` (in the worker, right after it) and ``verified`` (on the UI)."""

    challenge: ChallengeScreen
    code_screen: CodeScreen
    #: The answers, from the questions to the code screen: secret, kept only until then.
    _answers: list[str] | None = None

    def begin(self, typed: str) -> None:
        service, terminal = self.service, self.host.terminal

        def begin() -> tuple[Visit, tuple]:
            visit = service.begin(typed, terminal)
            return visit, tuple(service.challenge(visit))

        self.host.call_backend(begin, self._begun, on_stale=lambda result: self.end_in_background(result[0]))

    def _begun(self, result: tuple[Visit, tuple]) -> None:
        self._visit, questions = result
        self.challenge = self.show(ChallengeScreen(questions, self.answered))

    def answered(self, answers: list[str]) -> None:
        """The challenge's answers: checked now, or kept for the code screen."""
        if self.service.requires_code(self.action):
            self._answers = answers
            self.code_screen = self.show(CodeScreen(self.coded))
        else:
            self.verify(answers)

    def verify(self, answers: list[str]) -> None:
        """The answers, straight to one worker call (the list is emptied there)."""
        service, visit, screen = self.service, self._visit, self.challenge
        assert visit is not None

        def verify_then() -> Any:
            try:
                service.verify(visit, answers)
            finally:
                answers.clear()
            return self.then(service, visit)

        self.host.call_backend(
            verify_then, self.verified, on_error=self.refusal((VerificationFailed,), screen, screen.show_refusal)
        )

    def coded(self, code: str) -> None:
        """The code: with the kept answers, to one worker call. A refusal is said
        on the questions, asked again (the code alone is never judged)."""
        service, visit, challenge = self.service, self._visit, self.challenge
        answers, self._answers = self._answers or [], None
        assert visit is not None

        def verify_then() -> Any:
            try:
                service.verify_with_code(visit, answers, code)
            finally:
                answers.clear()
            return self.then(service, visit)

        def refused(message: str) -> None:
            self.host.back()
            challenge.show_refusal(message)

        self.host.call_backend(
            verify_then, self.verified, on_error=self.refusal((VerificationFailed,), self.code_screen, refused)
        )

    def then(self, service: SelfServicePort, visit: Visit) -> Any:
        """In the worker, right after a verification: the next backend step."""
        raise NotImplementedError

    def verified(self, result: Any) -> None:
        """On the UI: the next screen, or the result."""
        raise NotImplementedError

    def back(self) -> None:
        self._answers = None  # Esc on the code screen: the questions are asked again
        super().back()

    def wipe(self) -> None:
        super().wipe()
        if self._answers is not None:
            self._answers.clear()
        self._answers = None
