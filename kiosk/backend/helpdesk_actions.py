"""Which helpdesk actions an account card offers, and which are enabled now.

The same rules ``Helpdesk`` enforces (an action switched off in
``[helpdesk]`` is not offered; unlock and reset wait for a verified caller when
``require_verification``; verifying and revoking need an enrollment), said
once, here, so the UI shows them rather than re-deriving them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard
    from kiosk.config import HelpdeskSettings


def offered_actions(rules: HelpdeskSettings, card: AccountCard, verified: bool) -> tuple[tuple[str, bool], ...]:
    """(action, enabled) in the order the card shows them."""
    must_verify = rules.require_verification and not verified
    enrolled = card.enrollment.state != "not_enrolled"
    offered = [("verify", enrolled and card.enrollment.can_verify and not verified)]
    if rules.unlock:
        offered.append(("unlock", not must_verify))
    if rules.reset:
        offered.append(("reset", not must_verify))
    if rules.revoke:
        offered.append(("revoke", enrolled))
    return tuple(offered)
