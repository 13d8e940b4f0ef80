"""Reset: who -> the security questions -> a new password -> reset."""

from __future__ import annotations

from kiosk.backend.errors import PasswordRejected, VerificationFailed
from kiosk.backend.policy import PasswordRules
from kiosk.flows.self_service import ChallengedFlow
from kiosk.messages import text
from kiosk.screens.new_password import NewPasswordScreen


class ResetFlow(ChallengedFlow):
    action = "reset"
    order = 20
    new_password: NewPasswordScreen

    def verify(self, answers: list[str]) -> None:
        service, visit, screen = self.service, self._visit, self.challenge
        assert visit is not None

        def verify_then_rules() -> PasswordRules:
            try:
                service.verify(visit, answers)
            finally:
                answers.clear()
            return service.password_rules(visit)

        self.host.call_backend(
            verify_then_rules,
            self._ask_password,
            on_error=self.refusal((VerificationFailed,), screen, screen.show_refusal),
        )

    def _ask_password(self, rules: PasswordRules) -> None:
        self.new_password = self.show(NewPasswordScreen(rules, self.reset_password))

    def reset_password(self, password: str) -> None:
        """The new password, straight to one worker call."""
        service, visit, screen = self.service, self._visit, self.new_password
        assert visit is not None
        self.host.call_backend(
            lambda: service.reset_password(visit, password),
            lambda account: self.host.show_result(True, text("result.reset", account=account)),
            busy="busy.saving",
            on_error=self.refusal((PasswordRejected,), screen, screen.show_refusal),
        )
