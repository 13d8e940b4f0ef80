"""Enrollment review: the chosen questions (never the answers), then save."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen


class EnrollReviewScreen(KioskScreen):
    title_key = "review.title"
    keys_key = "review.keys"
    BINDINGS = [Binding("enter", "save", show=False)]

    def __init__(
        self, question_texts: Sequence[str], on_save: Callable[[], None], on_back: Callable[[], None]
    ) -> None:
        super().__init__()
        self._on_save = on_save
        self._on_back = on_back
        self._texts = tuple(question_texts)

    def compose_form(self) -> ComposeResult:
        yield Static(text("review.intro"), classes="hint", markup=False)
        for number, question in enumerate(self._texts, 1):
            yield Static(f"{number}. {question}", classes="label", markup=False)

    def action_save(self) -> None:
        self._on_save()

    def action_back(self) -> None:
        self._on_back()
