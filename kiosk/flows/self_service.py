"""What the self-service flows share (unlock, reset, enroll): Identify first,
then a visit begun in ``SelfService`` and ended there; unlock and reset go on
through the security questions (``ChallengedFlow``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.flows.base import Flow
from kiosk.screens.challenge import ChallengeScreen

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


class ChallengedFlow(SelfServiceFlow):
    """Identify -> the security questions -> ``verify`` (unlock, reset)."""

    challenge: ChallengeScreen

    def begin(self, typed: str) -> None:
        service, terminal = self.service, self.host.terminal

        def begin() -> tuple[Visit, tuple]:
            visit = service.begin(typed, terminal)
            return visit, tuple(service.challenge(visit))

        self.host.call_backend(begin, self._begun, on_stale=lambda result: self.end_in_background(result[0]))

    def _begun(self, result: tuple[Visit, tuple]) -> None:
        self._visit, questions = result
        self.challenge = self.show(ChallengeScreen(questions, self.verify))

    def verify(self, answers: list[str]) -> None:
        """The answers, straight to one worker call (the list is emptied there)."""
        raise NotImplementedError
