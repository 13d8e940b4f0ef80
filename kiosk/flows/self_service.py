"""What the self-service flows share: Identify first,
then a visit begun in ``SelfService`` and ended there; unlock and reset go on
through the security questions (``ChallengedFlow``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiosk import messages
from kiosk.backend.errors import CodeNotSent, TooManyCodes, VerificationFailed
from kiosk.flows.base import Flow
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.code import CodeScreen, EmailCodeScreen
from kiosk.screens.factor_choice import FactorChoiceScreen

if TYPE_CHECKING:
    from kiosk.backend.ports import SelfServicePort
    from kiosk.backend.usecase import Visit
    from kiosk.screens.base import KioskScreen

#: The alternative of the kiosk before second factors: the security questions alone.
QUESTIONS: tuple[str, ...] = ("questions",)
#: A code that could not be sent, or enough sent for now: said where the person is.
NOT_SENT: tuple[type[BaseException], ...] = (CodeNotSent, TooManyCodes)


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
        service, terminal, language = self.service, self.host.terminal, messages.language()
        self.host.call_backend(
            lambda: service.begin(typed, terminal, language), self._begun, on_stale=self.end_in_background
        )

    def _begun(self, visit: Visit) -> None:
        self._visit = visit
        self.ask_password()

    def ask_password(self) -> None:
        raise NotImplementedError


class ChallengedFlow(SelfServiceFlow):
    """Identify -> [which way to prove it is you] -> the security questions ->
    [a code: the authenticator's, or one sent by e-mail] -> verified (unlock, reset).

    The policy (``factor_choices``, the same for everyone) says which
    alternatives the action offers; with several, the person picks one. When
    the alternative asks for a code, the answers are kept until the code
    screen and go to the backend together with the code, in one call: nobody
    learns whether the answers alone were right, and unknown or unenrolled
    people (or those without an app or an address) see the same screens as
    everyone else. Subclasses say what follows a verification: ``then`` (in
    the worker, right after it) and ``verified`` (on the UI)."""

    challenge: ChallengeScreen
    code_screen: CodeScreen
    #: The answers, from the questions to the code screen: secret, kept only until then.
    _answers: list[str] | None = None
    #: The policy's alternatives for this action, and the one chosen.
    _choices: tuple[tuple[str, ...], ...] = (QUESTIONS,)
    _methods: tuple[str, ...] = QUESTIONS
    _questions: tuple = ()
    #: The masked address the e-mailed code of this visit went to (None: none sent yet).
    _sent_to: str | None = None
    #: The screen the person chose on (and is told a refusal on when there are no questions).
    _first: KioskScreen | None = None

    def begin(self, typed: str) -> None:
        service, terminal, action, language = self.service, self.host.terminal, self.action, messages.language()

        def begin() -> tuple[Visit, tuple, tuple[tuple[str, ...], ...]]:
            visit = service.begin(typed, terminal, language)
            return visit, tuple(service.challenge(visit)), tuple(service.factor_choices(action))

        self.host.call_backend(begin, self._begun, on_stale=lambda result: self.end_in_background(result[0]))

    def _begun(self, result: tuple[Visit, tuple, tuple[tuple[str, ...], ...]]) -> None:
        self._visit, self._questions, self._choices = result
        self._sent_to = None
        if len(self._choices) > 1:
            self._first = self.show(FactorChoiceScreen(self._choices, self.chose))
        else:
            self._first = None
            self.chose(self._choices[0])

    def chose(self, methods: tuple[str, ...]) -> None:
        """The alternative: its questions first, if it has them."""
        self._methods = tuple(methods)
        if "questions" in self._methods:
            self.challenge = self.show(ChallengeScreen(self._questions, self.answered))
        else:
            self.answered([])

    @property
    def _today(self) -> bool:
        """Questions alone, the only choice: the kiosk before second factors (``verify``)."""
        return self._choices == (QUESTIONS,)

    def answered(self, answers: list[str]) -> None:
        """The challenge's answers: checked now, or kept for the code screen."""
        if self._today:
            self.verify(answers)
        elif "totp" in self._methods:
            self._answers = answers
            self.code_screen = self.show(CodeScreen(self.coded))
        elif "email" in self._methods:
            self._answers = answers
            self._ask_email_code()
        else:
            self._answers = answers
            self.coded("")

    def _ask_email_code(self) -> None:
        """The code's screen; a code is sent first, once per visit (F5 sends another)."""
        minutes = self.host.settings.factors.email_code_minutes
        if self._sent_to is not None:
            self.code_screen = self.show(EmailCodeScreen(self._sent_to, minutes, self.coded, self.resend))
            return
        service, visit = self.service, self._visit
        assert visit is not None
        here = self.challenge if "questions" in self._methods else self._first

        def sent(address: str) -> None:
            self._sent_to = address
            self.code_screen = self.show(EmailCodeScreen(address, minutes, self.coded, self.resend))

        def refused(error: BaseException) -> bool:
            if self._answers is not None:
                self._answers.clear()
            self._answers = None
            if here is None:
                return False
            return self.refusal(NOT_SENT, here, here.say)(error)

        self.host.call_backend(lambda: service.send_code(visit), sent, busy="busy.sending", on_error=refused)

    def resend(self) -> None:
        """F5 on the e-mailed code's screen: a new code (the last one sent is the one that works)."""
        service, visit, screen = self.service, self._visit, self.code_screen
        assert visit is not None and isinstance(screen, EmailCodeScreen)
        self.host.call_backend(
            lambda: service.send_code(visit),
            lambda _: screen.resent(),
            busy="busy.sending",
            on_error=self.refusal(NOT_SENT, screen, screen.say),
        )

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
        on the questions, asked again (the code alone is never judged); without
        questions, on the code's screen (or the choice, when no code was asked)."""
        service, visit, action, methods = self.service, self._visit, self.action, self._methods
        answers, self._answers = self._answers or [], None
        assert visit is not None
        asked_code = "totp" in methods or "email" in methods
        on_screen = self.code_screen if asked_code else (self._first or self.challenge)

        def verify_then() -> Any:
            try:
                service.verify_factors(visit, action, methods, answers, code)
            finally:
                answers.clear()
            return self.then(service, visit)

        def refused(message: str) -> None:
            if "questions" in methods:
                if asked_code:
                    self.host.back()
                self.challenge.show_refusal(message)
            elif isinstance(on_screen, ChallengeScreen):
                on_screen.show_refusal(message)
            else:
                on_screen.say(message)

        self.host.call_backend(
            verify_then, self.verified, on_error=self.refusal((VerificationFailed,), on_screen, refused)
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
