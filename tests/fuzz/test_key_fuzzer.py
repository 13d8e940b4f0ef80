"""Key-sequence fuzzer: random keys, bursts, pastes and resizes against the
real SelfService on the demo directory, lockdown on (issue 7).

For each seed, a bounded run (a fixed number of actions AND a wall-clock cap):

- the app never exits, never crashes, never shows a traceback;
- nothing typed into a secret field is ever drawn on the screen, and no escape
  or control character reaches the terminal through the rendered screen;
- at the end, back at 80x24, Esc and the idle timeout bring it to a usable
  Welcome (its choices, focused), every field it ever had is empty, and no
  secret typed during the run is on the screen.

Keys arrive both as Pilot presses (idle waits after each key) and as bursts
sent straight to the driver without waits, as one read() from a terminal
delivers them (notes §3.4). A failure names the seed and the last actions.
"""

from __future__ import annotations

import asyncio
import html
import io
import random
import re
from collections import deque
from typing import Any

import pytest
from rich.console import Console
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input, OptionList
from textual.worker import WorkerState

from kiosk.app import KioskApp
from kiosk.cli import demo_service_factory, demo_settings
from kiosk.screens.busy import BusyScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.widgets.secret_input import SecretInput
from support import fast

SEEDS = [20250701, 424242, 1]
ACTIONS = 220  # per seed
WALL_SECONDS = 12.0  # per seed: the fuzz loop stops here even if actions remain
HARD_LIMIT = 40.0  # per seed, everything included: a hang fails instead of blocking the run
IDLE_SECONDS = 5  # the smallest the settings allow

NAMED_KEYS = [
    "tab", "shift+tab", "enter", "escape", "up", "down", "left", "right", "home", "end",
    "backspace", "delete", "pageup", "pagedown", "ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash",
    "ctrl+p", "ctrl+s", "ctrl+v", "ctrl+x", "ctrl+a", "ctrl+u", "space",
    *[f"f{n}" for n in range(1, 13)],
]  # fmt: skip
#: Keys that move through the flows: weighted up so runs get past Welcome.
FLOW_KEYS = ["enter", "enter", "enter", "tab", "down", "escape"]
NAMES = ["alice", "carol", "bob", "DEMO\\alice", "erin", "nobody", "alice@demo.example"]
ANSWERS = ["Paris", "Rex", "Hillside", "Lyon", "Misty", "Oak Lane", "Demo!Bob22", "E2001", "Fresh!Start99"]
NASTY_PASTES = [
    "\x1b[31mred\x1b[0m",
    "\x1b]52;c;aGk=\x07",
    "\x1b[?1049l",
    "\x1b[2J\x1b[H",
    "\x1bP+q544e\x1b\\",
    "\x9b31m",  # C1 CSI
    "a\x00b\x00c",
    "\x07\x08\x0b\x0c\r\x7f",
    "line one\nline two\r\nline three",
    "\u202eevil\u202c",  # RTL override
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",  # Hebrew, Arabic
    "e\u0301\u0301\u0301\u0301 Z\u0351\u0360\u036b\u0343",  # combining marks
    "\U0001f600\U0001f469\u200d\U0001f4bb\ufe0f",
    "\ufeff\u200b\u2028\u2029",
    "",
    " " * 300,
]
#: Resize targets from 20x6 to 200x60, the usual sizes more often.
SIZES = [(20, 6), (40, 12), (79, 23), (80, 24), (81, 25), (100, 30), (132, 43), (200, 60)]
#: The demo people (kiosk/backend/directory/demo.py): password, answers by question
#: id. A helpful burst uses them so runs get past the challenge, not only into it.
DEMO_PEOPLE = {
    "alice": ("Demo!Alice1", {"birth-city": "Paris", "first-pet": "Rex", "first-school": "Hillside"}),
    "carol": ("Demo!Carol3", {"birth-city": "Lyon", "first-pet": "Misty", "childhood-street": "Oak Lane"}),
    "bob": ("Demo!Bob22", {}),
}
BURST_CHARS = {"tab": "\t", "enter": "\r", "escape": "\x1b", "space": " ", "backspace": "\x7f"}
#: Anything a terminal would act on: C0 controls but \n, DEL, C1 controls.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")
#: Every field drops pasted ESC / C1 / NUL / DEL (kiosk/widgets/text_field.py), so
#: the fuzzer fails on any control character drawn to the terminal.
CONTROL_CHARS_FIXED = True


class Fuzz:
    """One seeded run: picks actions, remembers the markers typed and the fields seen."""

    def __init__(self, app: KioskApp, pilot: Any, seed: int) -> None:
        self.app = app
        self.pilot = pilot
        self.seed = seed
        self.rng = random.Random(seed)
        self.history: deque[str] = deque(maxlen=25)
        self.markers: list[str] = []  # distinctive strings typed or pasted somewhere
        self.fields: dict[int, Input] = {}  # every Input of every screen seen
        self.big_paste_done = False
        self.control_drawn = 0  # checks that found a control character on the screen

    # --- the generator ----------------------------------------------------------

    def marker(self) -> str:
        token = f"Zq{self.rng.randrange(16**6):06x}Q"
        self.markers.append(token)
        return token

    def word(self) -> str:
        kind = self.rng.random()
        if kind < 0.35:
            return self.rng.choice(NAMES)
        if kind < 0.7:
            return self.rng.choice(ANSWERS)
        if kind < 0.9:
            return self.marker()
        return "".join(self.rng.choice("abcXYZ019 !@#-_.\\/'\"éß") for _ in range(self.rng.randint(1, 12)))

    def paste_text(self) -> str:
        roll = self.rng.random()
        if roll < 0.5:
            return self.rng.choice(NASTY_PASTES)
        if roll < 0.75:
            return self.word()
        parts = [self.rng.choice(NASTY_PASTES), self.marker(), chr(self.rng.randrange(0, 0x250))]
        self.rng.shuffle(parts)
        return "".join(parts)

    def big_paste(self) -> str:
        """About 1 MB: one long line, or many lines, with a marker at the front."""
        mark = self.marker()
        if self.rng.random() < 0.5:
            return mark + "y" * (1 << 20)
        return mark + ("\x1b[31m" + "x" * 1010 + "\r\n") * 1024

    def helpful(self) -> list[str]:
        """Keys a person who knows the demo would type on this screen: moves the flows on."""
        rng, screen = self.rng, self.app.screen
        name = type(screen).__name__
        typed = (self.app.flow.typed_name if self.app.flow else "").split("\\")[-1].split("@")[0].lower()
        password, answers = DEMO_PEOPLE.get(typed, ("Wrong!Pass1", {}))
        if name == "WelcomeScreen":
            return ["down"] * rng.randint(0, 3) + ["enter"]
        if name == "IdentifyScreen":
            return [*rng.choice(NAMES), "enter"]
        if name == "ChallengeScreen":
            keys: list[str] = []
            for question in getattr(screen, "_questions", ()):
                keys += [*answers.get(question.id, "nope"), "enter"]
            return keys
        if name == "CurrentPasswordScreen":
            return [*password, "enter"]
        if name == "NewPasswordScreen":
            password = self.marker() + "!9a"  # upper, lower, digit, symbol
            return [*password, "enter", *password, "enter"]
        if name == "EnrollQuestionsScreen":
            answer = self.marker()
            return [*answer, "enter", *answer, "enter"]
        if name == "ActivateProofScreen":
            return [*"E2001", "enter"]
        return ["enter"]

    # --- sending -----------------------------------------------------------------

    def send_burst(self, keys: list[str]) -> None:
        """Keys as one read() delivers them: straight to the driver, no waits (§3.4)."""
        for key in keys:
            if len(key) == 1:
                name, char = _character_to_key(key) if not key.isalnum() else key, key
            else:
                name, char = key, BURST_CHARS.get(key)
            event = events.Key(name, char)
            event.set_sender(self.app)
            self.app._driver.send_message(event)

    def send_paste(self, text: str) -> None:
        event = events.Paste(text)
        event.set_sender(self.app)
        self.app._driver.send_message(event)  # the app forwards it to the focused widget

    async def step(self) -> None:
        rng = self.rng
        roll = rng.random()
        if roll < 0.25:
            key = rng.choice(FLOW_KEYS if rng.random() < 0.5 else NAMED_KEYS)
            self.history.append(f"press {key}")
            await self.pilot.press(key)
        elif roll < 0.35:
            char = rng.choice("abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()-_=+[]{};:'\",.<>/?\\|`~ ")
            self.history.append(f"press {char!r}")
            await self.pilot.press(_character_to_key(char) if not char.isalnum() else char)
        elif roll < 0.50:
            keys = self.helpful()
            self.history.append(f"helpful {''.join(k if len(k) == 1 else f'<{k}>' for k in keys)!r}")
            self.send_burst(keys)
            await self.settle()
        elif roll < 0.66:
            keys = []
            for _ in range(rng.randint(1, 4)):
                keys.extend(self.word())
                keys.append(rng.choice(["enter", "enter", "tab", "shift+tab", "escape", "backspace"]))
            if rng.random() < 0.3:
                keys.insert(rng.randrange(len(keys) + 1), rng.choice(NAMED_KEYS))
            self.history.append(f"burst {''.join(k if len(k) == 1 else f'<{k}>' for k in keys)!r}")
            self.send_burst(keys)
            if rng.random() < 0.5:
                await self.pilot.pause()
        elif roll < 0.78:
            text = self.paste_text()
            self.history.append(f"paste {text[:40]!r} ({len(text)} chars)")
            self.send_paste(text)
            if rng.random() < 0.5:
                await self.pilot.pause()
        elif roll < 0.88:
            width, height = rng.choice(SIZES) if rng.random() < 0.7 else (rng.randint(20, 200), rng.randint(6, 60))
            self.history.append(f"resize {width}x{height}")
            await self.pilot.resize_terminal(width, height)
        elif roll < 0.95:
            self.history.append("settle")
            await self.settle()
        else:
            self.history.append("pause")
            await self.pilot.pause(rng.choice([0.0, 0.01, 0.05]))

    # --- checks ------------------------------------------------------------------

    def where(self, step: Any) -> str:
        recent = "\n  ".join(self.history)
        return f"seed={self.seed} step={step} screen={self.app.screen!r}\n  last actions:\n  {recent}"

    async def settle(self, timeout: float = 8.0) -> None:
        """Wait for every worker (service build, backend calls) and the busy screen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self.pilot.pause()
            running = [w for w in self.app.workers if w.state in (WorkerState.PENDING, WorkerState.RUNNING)]
            busy = isinstance(self.app.screen, BusyScreen) or self.app._calls or self.app._service_worker
            if not running and not busy:
                await self.pilot.pause()
                return
            assert loop.time() < deadline, f"still busy after {timeout}s: {running} {self.where('settle')}"
            await asyncio.sleep(0.02)

    def check(self, step: Any) -> str:
        app = self.app
        where = self.where(step)
        assert app.is_running, f"the app exited (return code {app.return_code}) {where}"
        assert app._exception is None, f"crashed: {app._exception!r} {where}"
        assert app.return_code is None, where
        assert not app._exit_renderables, f"crash output queued {where}"
        shown = screen_text(app)
        assert "Traceback" not in shown and "Error in" not in shown, where
        bad = CONTROL.search(shown)
        if bad is not None and not CONTROL_CHARS_FIXED:
            self.control_drawn += 1
        else:
            assert bad is None, f"control character {bad.group()!r} drawn to the terminal {where}"
        for screen in app.screen_stack:
            for field in screen.query(Input):
                self.fields[id(field)] = field
        for field in self.fields.values():
            if isinstance(field, SecretInput):
                for mark in self.markers:
                    if mark in field.value:
                        assert mark not in shown, f"secret {mark} is on the screen {where}"
        return shown


def screen_text(app: KioskApp) -> str:
    """What the terminal would show, as text (the same render as export_screenshot)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), force_terminal=True,
        color_system="truecolor", record=True, legacy_windows=False, safe_box=False,
    )  # fmt: skip
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text(styles=False)


def svg_text(svg: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


def make_app(tmp_path: Any) -> KioskApp:
    settings = fast(
        demo_settings(tmp_path, locked=True),
        kiosk={"theme": "default", "lockdown": True, "idle_timeout_seconds": IDLE_SECONDS},
    )
    assert settings.kiosk.lockdown
    return KioskApp(settings, service_factory=demo_service_factory(settings))


async def fuzz(app: KioskApp, pilot: Any, seed: int) -> Fuzz:
    fuzzer = Fuzz(app, pilot, seed)
    loop = asyncio.get_running_loop()
    await fuzzer.settle()
    fuzzer.check("start")
    started = loop.time()
    big_paste_at = fuzzer.rng.randrange(ACTIONS // 8, ACTIONS // 2)
    for step in range(ACTIONS):
        if loop.time() - started > WALL_SECONDS:
            break
        if step == big_paste_at:
            text = fuzzer.big_paste()
            fuzzer.history.append(f"paste 1 MB {text[:12]!r}")
            fuzzer.send_paste(text)
            fuzzer.big_paste_done = True
            await pilot.pause()
        else:
            await fuzzer.step()
        if step % 20 == 19:
            await fuzzer.settle()
        fuzzer.check(step)
    if not fuzzer.big_paste_done:  # the wall clock ran out first: paste it now
        fuzzer.history.append("paste 1 MB (late)")
        fuzzer.send_paste(fuzzer.big_paste())
        fuzzer.big_paste_done = True
        await pilot.pause()
        fuzzer.check("big paste")
    return fuzzer


async def wind_down(fuzzer: Fuzz) -> None:
    """Back at 80x24, Esc a few times, then the idle timeout: a fresh Welcome."""
    app, pilot = fuzzer.app, fuzzer.pilot
    fuzzer.history.append("wind down")
    await pilot.resize_terminal(80, 24)
    await fuzzer.settle()
    for _ in range(8):
        await pilot.press("escape")
        await fuzzer.settle()
        fuzzer.check("escape")
    app._last_activity -= IDLE_SECONDS + 1  # the idle check runs every 0.5 s
    await asyncio.sleep(0.7)
    await fuzzer.settle()


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_keys_pastes_and_resizes_leave_a_usable_kiosk(seed, tmp_path, capsys):
    app = make_app(tmp_path)
    fuzzer: Fuzz | None = None
    async with app.run_test(size=(80, 24)) as pilot:
        async with asyncio.timeout(HARD_LIMIT):
            fuzzer = await fuzz(app, pilot, seed)
            await wind_down(fuzzer)
            shown = fuzzer.check("end")
            where = fuzzer.where("end")

            screen = app.screen
            assert isinstance(screen, WelcomeScreen), where
            assert len(app.screen_stack) == 2, f"{app.screen_stack} {where}"
            assert app.size == (80, 24) and screen.has_class("-wide-enough", "-tall-enough"), where
            choices = screen.query_one(OptionList)
            assert [o.id for o in choices.options] == ["unlock", "reset", "enroll", "activate"], where
            assert app.focused is choices, f"focused={app.focused!r} {where}"
            assert choices.highlighted is not None, where
            assert "What do you need?" in shown and "Unlock my account" in shown, shown
            assert app.flow is None and app._clipboard == "", where

            left = {f"{type(f.parent).__name__ if f.parent else 'unmounted'}#{f.id}({type(f).__name__})": f.value for f in fuzzer.fields.values() if f.value}
            assert not left, f"fields not emptied: {left} {where}"
            svg = svg_text(app.export_screenshot())
            for mark in fuzzer.markers:
                assert mark not in shown and mark not in svg, f"{mark} still on the screen {where}"
    assert app.return_code is None and app._exception is None
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert fuzzer is not None and fuzzer.big_paste_done


# --- found by the fuzzer ------------------------------------------------------------------


async def _paste_into_first_field(tmp_path: Any, action: str, name: str | None, text: str) -> tuple[KioskApp, str]:
    from ui.test_flows import choose, identify

    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        fuzzer = Fuzz(app, pilot, 0)
        await fuzzer.settle()
        await choose(pilot, action)
        if name is not None:
            await identify(pilot, name)
        field = app.screen.query(Input).first()
        assert app.focused is field and not isinstance(field, SecretInput)
        fuzzer.send_paste(text)
        await pilot.pause()
        assert field.value  # the paste landed
        drawn = "".join(strip.text for strip in app.screen._compositor.render_strips())
    return app, drawn


@pytest.mark.parametrize(("action", "name"), [("unlock", None), ("activate", "erin")])
async def test_pasted_control_characters_are_never_drawn(tmp_path, action, name):
    _, drawn = await _paste_into_first_field(tmp_path, action, name, "\x1b[?1049l\x1b[2J\x9b31mb\x00o\x7fb")
    assert CONTROL.search(drawn) is None, repr(drawn)
