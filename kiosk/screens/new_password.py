"""Choose a new password: typed twice, a live checklist, AD's refusal in words.

The checklist comes from ``kiosk.backend.policy.evaluate`` (cheap: zxcvbn sees
at most 32 characters at a time); each line says why (a common password, your name, too
easy to guess), and submitting a refused password says what to do instead. The
directory stays the judge and its refusal is shown as words, never codes.
Pasting is allowed (a password manager's); control characters are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import Input, Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.policy_checklist import PolicyChecklist
from kiosk.widgets.secret_input import PASSWORD_MAX, SecretInput

if TYPE_CHECKING:
    from kiosk.backend.policy import PasswordRules, PolicyCheck


#: Refusals of the kiosk's own quality rules: said in full (why, and what to do) on submit.
_SAID_WHY = frozenset({"common", "breached", "weak", "context", "too_long"})


class NewPasswordScreen(KioskScreen):
    title_key = "new_password.title"

    def __init__(self, rules: PasswordRules, on_submit: Callable[[str], None]) -> None:
        super().__init__()
        self._on_submit = on_submit
        self._rules = rules

    def compose_form(self) -> ComposeResult:
        yield Static(text("new_password.label"), classes="label", markup=False)
        yield SecretInput(id="new", max_length=PASSWORD_MAX)
        yield Static(text("new_password.confirm"), classes="label", markup=False)
        yield SecretInput(id="confirm", max_length=PASSWORD_MAX)
        yield Static(text("new_password.rules"), classes="label", markup=False)
        yield PolicyChecklist(id="checklist")

    def on_mount(self) -> None:
        self._refresh_checks()

    def _checks(self) -> list[PolicyCheck]:
        from kiosk.backend.policy import evaluate

        new = self.query_one("#new", SecretInput).value
        confirm = self.query_one("#confirm", SecretInput).value
        return list(evaluate(self._rules, new, confirm))

    def _refresh_checks(self) -> None:
        self.query_one(PolicyChecklist).update_checks(self._checks())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()  # the value never travels further than this screen
        self._refresh_checks()

    def submit(self) -> None:
        new = self.query_one("#new", SecretInput)
        confirm = self.query_one("#confirm", SecretInput)
        checks = self._checks()
        if not all(check.ok for check in checks):
            mismatch = any(c.key == "match" and not c.ok for c in checks) and all(
                c.ok for c in checks if c.key != "match"
            )
            reason = next((c.reason for c in checks if not c.ok), "")
            if mismatch:
                self.say(text("new_password.mismatch"))
            elif reason in _SAID_WHY:  # NIST rev 4: a blocklist refusal says why, with guidance
                self.say(text(f"password_rejected.{reason}"))
            else:
                self.say(text("new_password.not_yet"))
            self.set_focus(confirm if mismatch and new.value else new)
            return
        self.say("")
        password = new.take()
        confirm.wipe()
        self._refresh_checks()
        self._on_submit(password)
        del password

    def show_refusal(self, message: str) -> None:
        self.wipe()
        self._refresh_checks()
        self.say(message)
        self.set_focus(self.query_one("#new", SecretInput))
