"""Unlock: who -> the security questions -> unlocked."""

from __future__ import annotations

from kiosk.backend.errors import VerificationFailed
from kiosk.flows.self_service import ChallengedFlow
from kiosk.messages import text


class UnlockFlow(ChallengedFlow):
    action = "unlock"
    order = 10

    def verify(self, answers: list[str]) -> None:
        service, visit, screen = self.service, self._visit, self.challenge
        assert visit is not None

        def verify_then_unlock() -> str:
            try:
                service.verify(visit, answers)
            finally:
                answers.clear()
            return service.unlock(visit)

        self.host.call_backend(
            verify_then_unlock,
            lambda account: self.host.show_result(True, text("result.unlocked", account=account)),
            on_error=self.refusal((VerificationFailed,), screen, screen.show_refusal),
        )
