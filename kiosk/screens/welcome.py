"""The start screen: title, help text, the enabled choices, a demo banner.

The choices are the app's actions switched on (``kiosk.flows.FLOWS``), each
worded by ``welcome.<action>``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.messages import text
from kiosk.screens.base import KioskScreen


class WelcomeScreen(KioskScreen):
    keys_key = "welcome.keys"
    AUTO_FOCUS = "#choices"

    DEFAULT_CSS = """
    WelcomeScreen #help { height: auto; margin: 1 0; }
    WelcomeScreen #choices { height: auto; max-height: 8; width: 50; }
    WelcomeScreen #demo { height: auto; margin: 1 0 0 0; display: none; }
    WelcomeScreen #demo.-shown { display: block; }
    """

    def __init__(
        self,
        help_text: str,
        actions: Sequence[str],
        on_choose: Callable[[str], None],
        *,
        service: object | None = None,
    ) -> None:
        """``on_choose(action)``: one of ``actions``;
        ``service``: already built (its demo banner shows at once)."""
        super().__init__()
        self._help_text = help_text
        self._on_choose = on_choose
        self._service = service
        self._actions = tuple(actions)

    def screen_title(self) -> str:
        return text("welcome.choose")

    def compose_form(self) -> ComposeResult:
        if self._help_text:
            yield Static(self._help_text, id="help", markup=False)
        options = [
            Option(text(f"welcome.{action}"), id=action)
            for action in self._actions
        ]
        yield OptionList(*options, id="choices")
        yield Static("", id="demo", markup=False)

    def on_mount(self) -> None:
        if self._service is not None:
            self.show_service(self._service)

    def show_service(self, service: object) -> None:
        """The service is ready: show the demo banner if it is a demo."""
        demo = self.query_one("#demo", Static)
        if getattr(service, "is_demo", False):
            hint = getattr(service, "demo_hint", None)
            demo.update(text("welcome.demo") + (f"\n{hint}" if hint else ""))
            demo.add_class("-shown")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._on_choose(event.option.id)

    def action_back(self) -> None:
        """Nowhere to go back to."""
