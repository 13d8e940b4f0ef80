"""Unlock: who -> the security questions [-> the authenticator's code] -> unlocked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.flows.self_service import ChallengedFlow
from kiosk.messages import text

if TYPE_CHECKING:
    from kiosk.backend.ports import SelfServicePort
    from kiosk.backend.usecase import Visit


class UnlockFlow(ChallengedFlow):
    action = "unlock"
    order = 10

    def then(self, service: SelfServicePort, visit: Visit) -> str:
        return service.unlock(visit)

    def verified(self, account: str) -> None:
        self.host.show_result(True, text("result.unlocked", account=account))
