"""The start screen: title, help text, the enabled choices, the language
picker, a demo banner.

The choices are the app's actions switched on (``kiosk.flows.FLOWS``), each
worded by ``welcome.<action>``. With more than one language offered
(``kiosk.languages``, less those the terminal cannot draw), one key (F2)
goes to the next one; the line shows every language in its own name. A new
Welcome (a visit's end, a timeout) starts in the default language again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk import messages
from kiosk.messages import setting_text, text
from kiosk.screens.base import KioskScreen


class DemoFacts(Protocol):
    """What Welcome shows of the service (``SelfServicePort`` has both)."""

    @property
    def is_demo(self) -> bool: ...
    @property
    def demo_hint(self) -> str | None: ...


class WelcomeScreen(KioskScreen):
    keys_key = "welcome.keys"
    AUTO_FOCUS = "#choices"
    BINDINGS = [Binding("f2", "next_language", show=False)]

    DEFAULT_CSS = """
    WelcomeScreen #help { height: auto; margin: 1 0; }
    WelcomeScreen #choices { height: auto; max-height: 8; width: 50; }
    WelcomeScreen #languages { height: auto; margin: 1 0 0 0; }
    WelcomeScreen #demo { height: auto; margin: 1 0 0 0; display: none; }
    WelcomeScreen #demo.-shown { display: block; }
    """

    def __init__(
        self,
        help_text: str,
        actions: Sequence[str],
        on_choose: Callable[[str], None],
        *,
        service: DemoFacts | None = None,
    ) -> None:
        """``on_choose(action)``: one of ``actions``;
        ``service``: already built (its demo banner shows at once)."""
        super().__init__()
        self._help_text = help_text
        self._on_choose = on_choose
        self._service = service
        self._actions = tuple(actions)
        messages.reset_language()  # a new visit: the terminal's default language

    def screen_title(self) -> str:
        return text("welcome.choose")

    def compose_form(self) -> ComposeResult:
        help_text = setting_text("welcome.help", self._help_text) if self._help_text else ""
        if help_text:
            yield Static(help_text, id="help", markup=False)
        options = [
            Option(text(f"welcome.{action}"), id=action)
            for action in self._actions
        ]
        yield OptionList(*options, id="choices")
        if len(messages.languages()) > 1:
            yield Static(self._languages_line(), id="languages", markup=False)
        yield Static("", id="demo", markup=False)

    @staticmethod
    def _languages_line() -> str:
        """``F2: [English] · Français · 简体中文``: every name in its own language."""
        current = messages.language()
        names = [
            f"[{messages.language_name(code)}]" if code == current else messages.language_name(code)
            for code in messages.languages()
        ]
        return "F2: " + " · ".join(names)

    async def action_next_language(self) -> None:
        """F2: the next offered language; every text on the screen follows."""
        offered = messages.languages()
        if len(offered) < 2 or self.submitting:
            return
        current = messages.language()
        index = offered.index(current) if current in offered else -1
        messages.set_language(offered[(index + 1) % len(offered)])
        highlighted = self.query_one("#choices", OptionList).highlighted
        await self.recompose()
        choices = self.query_one("#choices", OptionList)
        choices.highlighted = highlighted
        self.set_focus(choices)
        if self._service is not None:
            self.show_service(self._service)

    def on_mount(self) -> None:
        if self._service is not None:
            self.show_service(self._service)

    def show_service(self, service: DemoFacts) -> None:
        """The service is ready: show the demo banner if it is a demo."""
        demo = self.query_one("#demo", Static)
        if service.is_demo:
            hint = service.demo_hint
            demo.update(text("welcome.demo") + (f"\n{hint}" if hint else ""))
            demo.add_class("-shown")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._on_choose(event.option.id)

    def action_back(self) -> None:
        """Nowhere to go back to."""
