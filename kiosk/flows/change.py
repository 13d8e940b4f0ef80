"""Change: who -> the current password -> a new password -> changed.

For anyone who knows their current password, and above all for people whose
password has expired or must be changed at next logon: their desktop refuses
them, and this is where they change it. No security questions, no enrollment.
The directory's change operation checks the old password and the history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.backend.errors import PasswordRejected
from kiosk.flows.base import WRONG_PASSWORD
from kiosk.flows.self_service import PasswordFirstFlow
from kiosk.messages import error_text, text
from kiosk.screens.change import ChangeCurrentPasswordScreen
from kiosk.screens.new_password import NewPasswordScreen

if TYPE_CHECKING:
    from kiosk.backend.policy import PasswordRules


class ChangeFlow(PasswordFirstFlow):
    action = "change"
    order = 25
    current: ChangeCurrentPasswordScreen
    new_password: NewPasswordScreen
    #: The current password, from its screen to the change (the change operation
    #: needs it): secret, kept only until the change, Esc, or a wipe.
    _old: str | None = None

    def ask_password(self) -> None:
        self.current = self.show(ChangeCurrentPasswordScreen(self.typed_name, self.check_current))

    def check_current(self, password: str) -> None:
        """The current password, checked by the directory before a new one is asked."""
        service, visit, screen = self.service, self._visit, self.current
        assert visit is not None

        def proven(rules: PasswordRules) -> None:
            self._old = password
            self.new_password = self.show(NewPasswordScreen(rules, self.change))

        self.host.call_backend(
            lambda: service.check_current_password(visit, password),
            proven,
            on_error=self.refusal(WRONG_PASSWORD, screen, screen.show_refusal),
        )

    def change(self, new_password: str) -> None:
        """The new password, with the current one, to one worker call."""
        service, visit, screen, old = self.service, self._visit, self.new_password, self._old
        if visit is None or old is None:
            return
        rejected = self.refusal((PasswordRejected,), screen, screen.show_refusal)

        def on_error(error: BaseException) -> bool:
            if rejected(error):  # another new password, with the same current one
                return True
            if isinstance(error, WRONG_PASSWORD):  # changed or locked since the first step
                self._old = None
                self.host.log_error(error, self.host.reference())
                self.host.show_result(False, error_text(error))
                return True
            return False

        self.host.call_backend(
            lambda: service.change_password(visit, old, new_password),
            self._changed,
            busy="busy.saving",
            on_error=on_error,
        )

    def _changed(self, result: tuple[str, bool]) -> None:
        self._old = None
        account, enrolled = result
        message = text("result.changed", account=account)
        if not enrolled and self.service.features.enroll:
            message += text("result.changed_enroll")
        self.host.show_result(True, message)

    def back(self) -> None:
        self._old = None  # Esc from the new password: the current one is asked again
        super().back()

    def wipe(self) -> None:
        super().wipe()
        self._old = None

    def end(self) -> None:
        self._old = None
        super().end()
