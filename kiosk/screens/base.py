"""What every kiosk screen shares: the banner, a message line, key hints,
the "terminal too small" view, Esc = back, and Enter handled synchronously.

The app's priority Enter binding calls ``enter_pressed`` while the key is
still being dispatched, so focus moves (or the form is submitted) before the
next key of a burst arrives (notes §1.4).

Screens import no app. What a screen needs from the app that shows it is the
``ScreenHost`` protocol below (the kiosk, the helpdesk and test harnesses
provide it); a screen's forward steps come as typed constructor arguments
(callables) or as its ``dismiss`` value, never as app methods called by name.
Secrets go from a field to such a callable, never into a Textual ``Message``
(messages are logged to devtools).
"""

from __future__ import annotations

from typing import Protocol, cast

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static

from kiosk.messages import text
from kiosk.widgets.secret_input import SecretInput



class ScreenHost(Protocol):
    """What every screen may ask of the app that shows it."""

    @property
    def banner_text(self) -> str:
        """The line at the top of every screen."""
        ...

    def go_back(self) -> None:
        """Esc on a screen that has no back of its own."""

    def open_typeahead(self, origin: KioskScreen, *, secret: bool) -> None:
        """``origin``'s form is being submitted: keep what is typed from now on."""

    def drop_typeahead(self) -> None:
        """Forget whatever was typed ahead."""

    def typeahead_kept(self) -> bool:
        """Were keys typed since the typeahead opened?"""
        ...

    def typeahead_back(self, screen: KioskScreen) -> None:
        """The origin keeps the focus after all: the kept keys go into its field."""

    def typeahead_ready(self, screen: KioskScreen) -> None:
        """``screen`` is shown and focused: the kept keys may land."""


MIN_WIDTH = 80
MIN_HEIGHT = 24


class KioskScreen(Screen[None]):
    BINDINGS = [Binding("escape", "back", show=False)]
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-wide-enough")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-tall-enough")]
    AUTO_FOCUS = "Input, OptionList, Select, Button"

    DEFAULT_CSS = """
    KioskScreen { align: center top; }
    KioskScreen #too-small { display: none; width: 100%; height: 100%; content-align: center middle; text-align: center; }
    KioskScreen.-too-narrow #too-small, KioskScreen.-too-short #too-small { display: block; }
    KioskScreen.-too-narrow #body, KioskScreen.-too-short #body { display: none; }
    KioskScreen #body { width: 76; height: 1fr; padding: 0 1; }
    KioskScreen #banner { height: 1; width: 100%; text-style: bold; }
    KioskScreen #title { height: auto; margin: 1 0 0 0; text-style: bold; }
    KioskScreen #form { height: 1fr; }
    KioskScreen .label { height: auto; margin: 1 0 0 0; }
    KioskScreen .hint { height: auto; color: $text-muted; }
    KioskScreen #message { height: auto; min-height: 1; margin: 1 0 0 0; }
    KioskScreen #message.-error { color: $error; text-style: bold; }
    KioskScreen #keys { height: 1; dock: bottom; color: $text-muted; }
    KioskScreen Input { width: 60; }
    """

    title_key = ""
    keys_key = "keys.form"
    #: Enter was pressed on the last field and the form is being handed over:
    #: until then focus moves and Enter do nothing (keys of a burst go nowhere).
    submitting = False

    def __init__(self, name: str | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name, id, classes)
        self._presize()

    def _presize(self) -> None:
        """The breakpoint classes for the terminal as it is, set before the
        screen is first styled: Textual sets them at the screen's first
        Resize, which otherwise restyles every widget of a screen that was
        just styled without them (a full restyle per screen shown). The
        same classes as that Resize gives, so nothing shows differently."""
        try:
            width, height = self.app.size
        except Exception:  # noqa: BLE001 - no app running yet (built outside one): the Resize sets them
            return
        for dimension, breakpoints in ((width, self.HORIZONTAL_BREAKPOINTS), (height, self.VERTICAL_BREAKPOINTS)):
            if breakpoints:
                self.add_class(*self._get_breakpoint_classes(dimension, breakpoints), update=False)

    @property
    def host(self) -> ScreenHost:
        """The app showing this screen, as far as screens may know it."""
        return cast(ScreenHost, self.app)

    def compose(self) -> ComposeResult:
        yield Static(text("too_small"), id="too-small", markup=False)
        with Vertical(id="body"):
            yield Static(self.host.banner_text, id="banner", markup=False)
            title = self.screen_title()
            if title:
                yield Static(title, id="title", markup=False)
            with Vertical(id="form"):
                yield from self.compose_form()
                yield Static("", id="message", markup=False)
            yield Static(text(self.keys_key), id="keys", markup=False)

    def on_resize(self, event: events.Resize) -> None:
        # A screen mounted while the terminal was too small (its form hidden)
        # got no auto-focus; when the form shows again, the next person must
        # still find the cursor where Welcome (or the step) puts it.
        if self.focused is None and not self.submitting:
            self.call_after_refresh(self._focus_first)

    def _focus_first(self) -> None:
        if self.focused is not None or self.submitting or not self.AUTO_FOCUS:
            return
        for widget in self.query(self.AUTO_FOCUS):
            if widget.focusable:
                self.set_focus(widget)
                return

    def screen_title(self) -> str:
        return text(self.title_key) if self.title_key else ""

    def compose_form(self) -> ComposeResult:
        yield from ()

    # --- messages on the screen ------------------------------------------------

    def say(self, message: str, *, error: bool = True) -> None:
        line = self.query_one("#message", Static)
        line.update(message)
        line.set_class(error and bool(message), "-error")

    def take_field(self, selector: str, empty_key: str) -> str | None:
        """What the one field ``selector`` holds, the field emptied (what was
        typed lives for the one call it is handed to); None, and ``empty_key``
        said, when nothing but spaces was typed."""
        field = self.query_one(selector, Input)
        if not field.value.strip():
            self.say(text(empty_key))
            return None
        self.say("")
        value = field.value
        field.clear()
        return value

    # --- keys ----------------------------------------------------------------------

    def inputs(self) -> list[Input]:
        return [w for w in self.focus_chain if isinstance(w, Input)]

    def enter_pressed(self, focused: Input, *, secret_ahead: bool = False) -> None:
        """Enter in a field: go to the next field, or submit from the last one.
        ``secret_ahead``: what is typed next may be a secret (see ``Typeahead``)."""
        fields = self.inputs()
        if focused in fields and fields.index(focused) < len(fields) - 1:
            self.set_focus(fields[fields.index(focused) + 1])
            return
        # Keys typed before this Enter may still sit in the field's queue, and keys
        # typed after it must not reach any field: take the focus away now, and
        # submit once the field has caught up with what was typed into it.
        # What is typed from now on is kept for the next screen (typeahead).
        self.submitting = True
        self.set_focus(None)
        self.host.open_typeahead(self, secret=secret_ahead or any(isinstance(f, SecretInput) for f in fields))
        focused.call_later(self._submit_when_caught_up, focused)

    def _submit_when_caught_up(self, focused: Input) -> None:
        self.submitting = False
        if self.app.screen is not self:
            return
        self.submit()
        if self.app.screen is self:
            self.host.drop_typeahead()  # still here (a field to fill): nothing typed ahead lands
            if self.focused is None and focused.is_attached:
                self.set_focus(focused)

    def tab_in_only_field(self, field: Input) -> None:
        """Tab in the only (plain) field: the keys typed after it in the same
        burst are held until the field has caught up with the keys before it.
        Then, with a name in the field and keys after the Tab, it is a
        password manager's ``name<Tab>password``: go on as Enter does, and the
        rest is typeahead for the next screen, for masked fields only (never in
        clear here). Otherwise the field keeps the focus and gets those keys."""
        self.submitting = True
        self.set_focus(None)
        self.host.open_typeahead(self, secret=True)
        field.call_later(self._tab_when_caught_up, field)

    def _tab_when_caught_up(self, field: Input) -> None:
        self.submitting = False
        if self.app.screen is not self or not field.is_attached:
            self.host.drop_typeahead()
            return
        if field.value and self.host.typeahead_kept():
            self.submit()
            if self.app.screen is self:
                self.host.drop_typeahead()
                if self.focused is None:
                    self.set_focus(field)
            return
        self.set_focus(field)
        self.host.typeahead_back(self)

    def on_screen_resume(self) -> None:
        # After Textual's own resume handling (auto focus) and one refresh, the
        # focus is where a person finds it: typeahead may land now.
        self.call_after_refresh(self.host.typeahead_ready, self)

    def submit(self) -> None:
        """The form is complete: hand it on (to the callable the screen was given)."""

    def action_back(self) -> None:
        self.wipe()
        self.host.go_back()

    def wipe(self) -> None:
        for field in self.query(Input):
            if isinstance(field, SecretInput):
                field.wipe()
            else:
                field.clear()
