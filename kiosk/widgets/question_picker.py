"""The enrollment's question picker: a Select whose prompt is not a choice.

The stock ``Select`` lists its prompt ("Choose a question") as the first line
of its drop-down, as a blank choice a person can pick. Here that line is
disabled: the prompt shows while nothing is chosen, but cannot be chosen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import OptionList, Select


class QuestionPicker(Select[str]):
    def __init__(self, options: Iterable[tuple[str, str]] = (), **kwargs: Any) -> None:
        kwargs["allow_blank"] = True  # blank until a question is chosen; its line is disabled below
        super().__init__(options, **kwargs)

    def on_mount(self) -> None:
        self._disable_prompt()

    def set_options(self, options: Iterable[tuple[str, str]]) -> None:  # type: ignore[override]
        super().set_options(options)
        self._disable_prompt()

    def _disable_prompt(self) -> None:
        drop_down = self.query_one(OptionList)  # Select's overlay; line 0 is the blank (the prompt)
        if drop_down.option_count:
            drop_down.disable_option_at_index(0)
