"""Find the caller's account: a search box and a keyboard-navigable table.

Enter in the box searches (the start of a name, user name or UPN); the
results take the focus; Up/Down choose and Enter opens the account card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.widgets import DataTable, Input, Static

from kiosk.messages import text
from kiosk.screens.helpdesk.base import HelpdeskScreen

if TYPE_CHECKING:
    from kiosk.backend.helpdesk import AccountCard
from kiosk.widgets.text_field import TextField

QUERY_MAX = 256
#: key, width: with a cell padding of 1 the table fits the 74 columns of the body
COLUMNS = (("name", 12), ("display", 16), ("upn", 21), ("locked", 6), ("enrolled", 8))


def enrolled_word(card: AccountCard) -> str:
    return {"enrolled": text("helpdesk.yes"), "partial": text("helpdesk.partly")}.get(
        card.enrollment.state, text("helpdesk.no")
    )


def row(card: AccountCard) -> tuple[str, ...]:
    account = card.account
    locked = text("helpdesk.yes") if account.locked else text("helpdesk.no")
    return (account.sam, account.display_name, account.upn or "", locked, enrolled_word(card))


class HelpdeskSearchScreen(HelpdeskScreen):
    title_key = "helpdesk.search.title"
    keys_key = "helpdesk.keys.search"
    AUTO_FOCUS = "#query"

    DEFAULT_CSS = """
    HelpdeskSearchScreen #query { width: 60; }
    HelpdeskSearchScreen #results { height: 1fr; max-height: 12; width: 100%; margin: 1 0 0 0; }
    HelpdeskSearchScreen #message { min-height: 0; margin: 0; }
    """

    def __init__(
        self, on_search: Callable[[str], None], on_open: Callable[[AccountCard], None], on_back: Callable[[], None]
    ) -> None:
        super().__init__()
        self._on_search = on_search
        self._on_open = on_open
        self._on_back = on_back
        self._cards: dict[str, AccountCard] = {}

    def compose_form(self) -> ComposeResult:
        yield Static(text("helpdesk.search.label"), classes="label", markup=False)
        yield TextField(id="query", max_length=QUERY_MAX, select_on_focus=False)
        yield DataTable(id="results", cursor_type="row", zebra_stripes=False, show_cursor=True)

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        for key, width in COLUMNS:
            table.add_column(text(f"helpdesk.column.{key}"), width=width, key=key)

    def submit(self) -> None:
        query = self.query_one("#query", Input).value.strip()
        if not query:
            self.say(text("helpdesk.search.empty"))
            return
        self.say("")
        self._on_search(query)

    def show_results(self, query: str, cards: Sequence[AccountCard]) -> None:
        table = self.query_one("#results", DataTable)
        table.clear()
        self._cards = {card.account.guid: card for card in cards}
        for card in cards:
            table.add_row(*row(card), key=card.account.guid)
        if not cards:
            self.say(text("helpdesk.search.none", query=query))
            self.set_focus(self.query_one("#query", Input))
            return
        self.say(text("helpdesk.search.found", count=len(cards)), error=False)
        table.move_cursor(row=0)
        self.set_focus(table)  # synchronous: keys after Enter follow (notes §1.4)

    def update_card(self, card: AccountCard) -> None:
        """An account changed (unlocked, revoked): its row follows."""
        guid = card.account.guid
        if guid not in self._cards:
            return
        self._cards[guid] = card
        table = self.query_one("#results", DataTable)
        for (key, _), value in zip(COLUMNS, row(card), strict=True):
            table.update_cell(guid, key, value)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        card = self._cards.get(str(event.row_key.value))
        if card is not None:
            self._on_open(card)

    def action_back(self) -> None:
        self._on_back()
