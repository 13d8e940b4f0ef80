"""Which helpdesk actions an account card offers, and which are enabled now.

The same rules ``Helpdesk`` enforces, said once, here, and handed to the UI on
the card (``AccountCard.actions``), so the UI shows them rather than
re-deriving them:

- an action switched off in ``[helpdesk]`` is not offered;
- unlock and reset wait for a verified caller when ``require_verification``;
- verifying needs an enrollment that can verify, no block from wrong answers
  (it would be refused) and no verification yet;
- revoking needs an enrollment;
- where the helpdesk's policy ([factors] helpdesk) names an authenticator's
  code or an e-mailed code, "verify_totp" / "verify_email" check the caller by
  it (enabled while the caller has the method, is not blocked and is not yet
  verified by it); "revoke_totp" is offered while the caller has an app;
- where the questions cannot verify the caller (the wrong answers block them,
  or they have none to ask) and wrong answers are on record, "clear" takes
  verify's place: the operator confirms they verified the caller another way
  (``Helpdesk.clear_attempts``). Where the questions can verify, a right
  answer clears the count itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
    rules: HelpdeskSettings,
    enrollment: EnrollmentStatus,
    throttle: ThrottleStatus,
    verified: bool,
    *,
    methods: Sequence[str] = ("questions",),
    passed: Collection[str] = (),
    has_totp: bool = False,
    has_mail: bool = False,
) -> tuple[ActionOffer, ...]:
    """(action, enabled) in the order the card shows them. ``methods``: every
    method the caller check may use (the helpdesk's policy for this person);
    ``passed``: those the caller passed in this session."""
    must_verify = rules.require_verification and not verified
    enrolled = enrollment.state != "not_enrolled"
    can_verify = questions_can_verify(enrollment, throttle)
    blocked = throttle.locked_until is not None
    if not can_verify and (throttle.failures or blocked):
        # The questions cannot verify this caller (blocked by wrong answers, or
        # none to ask): clearing takes verifying's place, the operator vouching
        # for another route (or a verification made before the block).
        offered = [ActionOffer("clear", True)]
    elif "questions" in methods:
        offered = [ActionOffer("verify", can_verify and not verified and "questions" not in passed)]
    else:
        offered = []
    if "totp" in methods:
        offered.append(ActionOffer("verify_totp", has_totp and not blocked and not verified and "totp" not in passed))
    if "email" in methods:
        offered.append(ActionOffer("verify_email", has_mail and not blocked and not verified and "email" not in passed))
    if rules.unlock:
        offered.append(ActionOffer("unlock", not must_verify))
    if rules.reset:
        offered.append(ActionOffer("reset", not must_verify))
    if rules.revoke:
        offered.append(ActionOffer("revoke", enrolled))
        if has_totp:
            offered.append(ActionOffer("revoke_totp", True))
    return tuple(offered)
