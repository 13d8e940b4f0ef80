"""A live checklist of password rules, one line per PolicyCheck (ASCII marks only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.containers import Vertical
from textual.widgets import Static

from kiosk.messages import rule_text


class PolicyChecklist(Vertical):
    DEFAULT_CSS = """
    PolicyChecklist { height: auto; }
    PolicyChecklist > .check { height: 1; }
    PolicyChecklist > .check.-ok { color: $success; }
    PolicyChecklist > .check.-todo { color: $text-muted; }
    """

    def update_checks(self, checks: Sequence[Any]) -> None:
        """``checks`` are PolicyCheck(key, label, ok); only labels are shown, never the password."""
        existing = {child.name: child for child in self.query_children(Static)}
        wanted = [check.key for check in checks]
        for name, child in existing.items():
            if name not in wanted:
                child.remove()
        for check in checks:
            line = f"[{'x' if check.ok else ' '}] {rule_text(check.label)}"
            widget = existing.get(check.key)
            if widget is None:
                widget = Static(line, name=check.key, classes="check", markup=False)
                self.mount(widget)
            else:
                widget.update(line)
            widget.set_class(check.ok, "-ok")
            widget.set_class(not check.ok, "-todo")
