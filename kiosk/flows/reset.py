"""Reset: who -> the security questions [-> the authenticator's code] -> a new password -> reset."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.backend.errors import PasswordRejected
from kiosk.backend.policy import PasswordRules
from kiosk.flows.self_service import ChallengedFlow
from kiosk.messages import text
from kiosk.screens.new_password import NewPasswordScreen

if TYPE_CHECKING:
    from kiosk.backend.ports import SelfServicePort
    from kiosk.backend.usecase import Visit


class ResetFlow(ChallengedFlow):
    action = "reset"
    order = 20
    new_password: NewPasswordScreen

    def then(self, service: SelfServicePort, visit: Visit) -> PasswordRules:
        return service.password_rules(visit)

    def verified(self, rules: PasswordRules) -> None:
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
