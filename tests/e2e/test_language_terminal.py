"""The language picker in a real terminal (tmux, 80x24): on the Linux console
(TERM=linux) it offers only what the console can draw, and in an xterm a whole
unlock happens in Simplified Chinese, then the kiosk is back in its default
language. The demo directory of a config file: carol is locked, her answers
Lyon / Misty / Oak Lane (kiosk/backend/directory/demo.py), and the default
questions speak every shipped language."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from conftest import PYTHON
from support import CHEAP_LOCAL_TOML, DEMO_DIRECTORY_TOML
from tmuxdriver import TmuxDriver, tmux_available

pytestmark = pytest.mark.e2e

CONFIG = DEMO_DIRECTORY_TOML + CHEAP_LOCAL_TOML + """
[kiosk]
log_file = "{dir}/kiosk.log"
terminal_id = "e2e"
languages = ["en", "fr", "de", "zh_Hans"]
default_language = "en"
"""

WELCOME = "What do you need?"
#: carol's answers by a word of each question, in Chinese
CAROL = {"城市": "Lyon", "宠物": "Misty", "街": "Oak Lane"}


def config(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG.format(dir=tmp_path))
    return path


def driver(term: str) -> TmuxDriver:
    if not tmux_available():
        pytest.skip("tmux is not installed (scripts/bootstrap --test installs it)")
    return TmuxDriver(term=term)


def picker_line(screen: str) -> str:
    found = re.search(r"F2: .*", screen)
    return found.group(0).strip() if found else ""


def test_the_linux_console_picker_hides_chinese(tmp_path):
    with driver("linux") as term:
        term.start([PYTHON, "-m", "kiosk", "--config", str(config(tmp_path))])
        screen = term.wait_for(WELCOME, timeout=15)
        assert picker_line(screen) == "F2: [English] · Français · Deutsch", screen
        assert "简体中文" not in screen
        seen = []
        for title in ("Que souhaitez-vous faire", "Was möchten Sie tun?", WELCOME):
            term.keys("F2")
            seen.append(picker_line(term.wait_for(title)))
        assert seen == [
            "F2: English · [Français] · Deutsch",
            "F2: English · Français · [Deutsch]",
            "F2: [English] · Français · Deutsch",
        ]
        assert not any("简体中文" in line or "中" in line for line in seen)
        term.signal(signal.SIGTERM)
        assert term.wait_exit() == 0


def questions_on(screen: str) -> list[str]:
    return re.findall(r"^\s*\d\. (.+?)\s*$", screen, flags=re.M)


def boxes(screen: str) -> list[str]:
    return [m.group(1).strip() for m in (re.match(r"^\s*[│▊](.*)[│▎]\s*$", line) for line in screen.splitlines()) if m]


def test_a_whole_unlock_in_chinese_then_back_to_english(tmp_path):
    with driver("xterm-256color") as term:
        term.start([PYTHON, "-m", "kiosk", "--config", str(config(tmp_path))])
        screen = term.wait_for(WELCOME, timeout=15)
        assert "简体中文" in picker_line(screen)
        for _ in range(3):
            term.keys("F2")
            time.sleep(0.1)
        screen = term.wait_for("您需要办理什么？")
        assert "[简体中文]" in picker_line(screen) and "解锁我的账户" in screen
        term.keys("Enter")  # the first choice: unlock
        term.wait_for("请问您是哪位？")
        term.type("carol")
        term.keys("Enter")
        screen = term.wait_until(
            lambda s: "回答您的安全问题" in s and len(questions_on(s)) == 3, what="the questions, in Chinese"
        )
        asked = questions_on(screen)
        answers = [next(answer for word, answer in CAROL.items() if word in question) for question in asked]
        assert all(re.search(r"[\u4e00-\u9fff]", q) for q in asked), asked
        for index, answer in enumerate(answers):
            if index:
                term.keys("Tab")
            term.type(answer)
        term.wait_until(
            lambda s: [len(b) for b in boxes(s) if set(b) <= {"•"} and b][:3] == [len(a) for a in answers],
            what="three masked answers",
        )
        term.keys("Enter")
        screen = term.wait_for("已解锁", timeout=20)
        assert "已完成" in screen and "回车：完成" in screen
        assert not re.search(r"\b(unlocked|Done|Enter)\b", screen), screen
        term.keys("Enter")
        screen = term.wait_for(WELCOME)
        assert "[English]" in picker_line(screen)
        term.signal(signal.SIGTERM)
        assert term.wait_exit() == 0
