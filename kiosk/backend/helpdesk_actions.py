"""Which helpdesk actions an account card offers, and which are enabled now.

The same rules ``Helpdesk`` enforces, said once, here, and handed to the UI on
the card (``AccountCard.actions``), so the UI shows them rather than
re-deriving them:

- an action switched off in ``[helpdesk]`` is not offered;
- unlock and reset wait for a verified caller when ``require_verification``;
- verifying needs an enrollment that can verify, no block from wrong answers
  (it would be refused) and no verification yet;
- revoking needs an enrollment;
- where the questions cannot verify the caller (the wrong answers block them,
  or they have none to ask) and wrong answers are on record, "clear" takes
  verify's place: the operator confirms they verified the caller another way
  (``Helpdesk.clear_attempts``). Where the questions can verify, a right
  answer clears the count itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from kiosk.backend.admin import EnrollmentStatus
    from kiosk.backend.throttle import ThrottleStatus
    from kiosk.config import HelpdeskSettings

class ActionOffer(NamedTuple):
    """One button of the card: the action and whether it may be chosen now."""

    action: str
    enabled: bool


def questions_can_verify(enrollment: EnrollmentStatus, throttle: ThrottleStatus) -> bool:
    """Can the caller be verified by their questions now?"""
    return enrollment.state != "not_enrolled" and enrollment.can_verify and throttle.locked_until is None


def offered_actions(
    rules: HelpdeskSettings, enrollment: EnrollmentStatus, throttle: ThrottleStatus, verified: bool
) -> tuple[ActionOffer, ...]:
    """(action, enabled) in the order the card shows them."""
    must_verify = rules.require_verification and not verified
    enrolled = enrollment.state != "not_enrolled"
    can_verify = questions_can_verify(enrollment, throttle)
    if not can_verify and (throttle.failures or throttle.locked_until is not None):
        # The questions cannot verify this caller (blocked by wrong answers, or
        # none to ask): clearing takes verifying's place, the operator vouching
        # for another route (or a verification made before the block).
        offered = [ActionOffer("clear", True)]
    else:
        offered = [ActionOffer("verify", can_verify and not verified)]
    if rules.unlock:
        offered.append(ActionOffer("unlock", not must_verify))
    if rules.reset:
        offered.append(ActionOffer("reset", not must_verify))
    if rules.revoke:
        offered.append(ActionOffer("revoke", enrolled))
    return tuple(offered)
