"""Which way will you prove it is you? Shown when the policy ([factors]) offers
an action several alternatives (e.g. questions and an authenticator's code, or
questions and an e-mailed code). The list is the same for everyone: it says
nothing about what the person has set up."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from kiosk.messages import text
from kiosk.screens.base import KioskScreen


def alternative_text(methods: Sequence[str]) -> str:
    """"my security questions and a code sent to my e-mail", capitalised."""
    words = text("factor.join").join(text(f"factor.method.{method}") for method in methods)
    return words[:1].upper() + words[1:]


class FactorChoiceScreen(KioskScreen):
    title_key = "factor.title"
    keys_key = "factor.keys"
    AUTO_FOCUS = "#factors"

    DEFAULT_CSS = """
    FactorChoiceScreen #factors { height: auto; max-height: 10; width: 72; margin: 1 0 0 0; }
    """

    def __init__(self, choices: Sequence[Sequence[str]], on_choose: Callable[[tuple[str, ...]], None]) -> None:
        super().__init__()
        self._choices = [tuple(choice) for choice in choices]
        self._on_choose = on_choose

    def compose_form(self) -> ComposeResult:
        yield Static(text("factor.intro"), classes="hint", markup=False)
        yield OptionList(
            *(Option(alternative_text(choice), id=f"factor-{n}") for n, choice in enumerate(self._choices)),
            id="factors",
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self._on_choose(self._choices[int(event.option.id.removeprefix("factor-"))])
