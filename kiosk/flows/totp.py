"""Set up an authenticator app: who -> the current password -> the QR code and
the key -> the first code -> the recovery codes (shown once) -> saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.backend.errors import CodeRejected
from kiosk.flows.base import WRONG_PASSWORD
from kiosk.flows.self_service import PasswordFirstFlow
from kiosk.messages import text
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.recovery_codes import RecoveryCodesScreen
from kiosk.screens.totp_setup import TotpSetupScreen

if TYPE_CHECKING:
    from kiosk.backend.model import TotpSetup


class TotpPasswordScreen(CurrentPasswordScreen):
    title_key = "totp.password_title"


class TotpFlow(PasswordFirstFlow):
    action = "totp"
    order = 40
    password: CurrentPasswordScreen
    setup: TotpSetupScreen

    @classmethod
    def enabled(cls, features: object) -> bool:
        """Offered when ``features.totp`` is on (off by default)."""
        return bool(getattr(features, "totp", False))

    def ask_password(self) -> None:
        self.password = self.show(TotpPasswordScreen(self.typed_name, self.prove_password))

    def prove_password(self, password: str) -> None:
        service, visit, screen = self.service, self._visit, self.password
        assert visit is not None

        def prove_then_begin() -> TotpSetup:
            service.prove_password(visit, password)
            return service.totp_begin(visit)

        self.host.call_backend(
            prove_then_begin, self._show_setup, on_error=self.refusal(WRONG_PASSWORD, screen, screen.show_refusal)
        )

    def _show_setup(self, setup: TotpSetup) -> None:
        self.setup = self.show(TotpSetupScreen(setup, self.confirm))

    def confirm(self, code: str) -> None:
        service, visit, screen = self.service, self._visit, self.setup
        assert visit is not None
        self.host.call_backend(
            lambda: service.totp_confirm(visit, code),
            self._show_codes,
            busy="busy.saving",
            on_error=self.refusal((CodeRejected,), screen, screen.show_refusal),
        )

    def _show_codes(self, codes: tuple[str, ...]) -> None:
        self.show(RecoveryCodesScreen(codes, self._done))

    def _done(self) -> None:
        self.host.show_result(True, text("totp.done"))
