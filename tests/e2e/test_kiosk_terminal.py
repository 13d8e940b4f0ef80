"""The real ``kiosk`` program in a real terminal (tmux, 80x24, TERM=linux).

What a person at the keyboard can and cannot do: the quit/suspend/palette
keys on every screen, signals from outside, key bursts where two fields meet,
the idle timeout, secrets never on the screen or in the scrollback, one reset
against the Samba AD lab, and the launcher against a hostile environment.
Every wait polls the screen (tmuxdriver.wait_for); nothing sleeps long.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

import lab as lablib
from conftest import LAUNCHER, PYTHON, QUESTIONS
from support import CHEAP_LOCAL_TOML
from tmuxdriver import TmuxDriver

from kiosk.flows import FLOWS
from kiosk.messages import DEFAULT_TEXTS

pytestmark = pytest.mark.e2e

DEMO_LOCKED = [PYTHON, "-m", "kiosk", "demo", "--locked"]
WELCOME = "What do you need?"
IDENTIFY = "Who are you?"
CHALLENGE = "Answer your security questions"
NEW_PASSWORD = "Choose a new password"
CURRENT_PASSWORD = "Current password"
REVIEW = "Check your questions"
DONE = "is changed"
PALETTE = "Search for commands"
NAME_HINT = r"user name, DOMAIN\name or name@domain"  # under the field, once

#: kiosk demo: alice's answers by a word of the question (kiosk/backend/directory/demo.py)
ALICE = {"city": "Paris", "pet": "Rex", "school": "Hillside"}
HOSTILE_KEYS = ("C-c", "C-z", "C-\\", "C-q", "C-p")
SETTLE = 0.3  # time for the app to handle keys that produce no visible change


# --- reading the screen -------------------------------------------------------------------


def boxes(screen: str) -> list[str]:
    """The text inside each one-line box (Input fields), top to bottom."""
    found = []
    for line in screen.splitlines():
        match = re.match(r"^\s*│(.*)│\s*$", line)
        if match:
            found.append(match.group(1).strip())
    return found


def questions_on(screen: str) -> list[str]:
    return re.findall(r"^\s*\d\. (.+?)\s*$", screen, flags=re.M)


def answers_for(screen: str, answers: dict[str, str]) -> list[str] | None:
    """The answers for the challenge on screen, in screen order, by a keyword
    (None while the screen is not completely drawn)."""
    out = []
    for question in questions_on(screen):
        matches = [answer for word, answer in answers.items() if word in question]
        if len(matches) != 1:
            return None
        out.append(matches[0])
    return out if len(out) == len(answers) and len(boxes(screen)) == len(out) else None


def wait_challenge(term: TmuxDriver, answers: dict[str, str]) -> list[str]:
    screen = term.wait_until(lambda s: CHALLENGE in s and answers_for(s, answers) is not None, what="the challenge")
    return answers_for(screen, answers)


# --- walking through the kiosk -------------------------------------------------------------------


def start_demo(term: TmuxDriver, cmd: list[str] = DEMO_LOCKED, **kwargs) -> None:
    term.start(cmd, **kwargs)
    term.wait_for(WELCOME, timeout=15)


#: Welcome's choices by action: what the screen shows (which are on depends on the config).
CHOICES = {action: DEFAULT_TEXTS[f"welcome.{action}"] for action in FLOWS}


def choose(term: TmuxDriver, action: str) -> None:
    """Welcome: the choice ``action`` (unlock, reset, enroll...), found where the screen shows it."""
    screen = term.wait_until(lambda s: WELCOME in s and CHOICES[action] in s, what=f"{action} on Welcome")
    shown = [name for _, name in sorted((screen.find(label), name) for name, label in CHOICES.items() if label in screen)]
    term.keys(*["Down"] * shown.index(action), "Enter")
    term.wait_for(IDENTIFY)


def answer_challenge(term: TmuxDriver, answers: dict[str, str], *, submit: bool = True) -> None:
    typed = wait_challenge(term, answers)
    for index, answer in enumerate(typed):
        if index:
            term.keys("Tab")
        term.type(answer)
    term.wait_until(lambda s: [len(b) for b in boxes(s)] == [len(a) for a in typed], what="bullets")
    if submit:
        term.keys("Enter")


def new_password(term: TmuxDriver, password: str) -> None:
    term.wait_for(NEW_PASSWORD)
    term.type(password)
    term.keys("Tab")
    term.type(password)
    term.wait_until(lambda s: boxes(s)[:2] == ["•" * len(password)] * 2, what="two masked passwords")
    term.keys("Enter")


def hostile_keys_do_nothing(term: TmuxDriver, marker: str) -> str:
    """Press every quit/suspend/palette key, one at a time; the kiosk stays as it was."""
    before = term.screen()
    for key in HOSTILE_KEYS:
        term.keys(key)
    time.sleep(SETTLE)
    assert term.alive(), f"the kiosk died after {HOSTILE_KEYS} on {marker!r}:\n{term.screen()}"
    after = term.screen()
    assert marker in after and PALETTE not in after, after
    assert boxes(after) == boxes(before), f"a field changed:\n{before}\n---\n{after}"
    return after


# --- lockdown ---------------------------------------------------------------------------------------


def test_quit_suspend_and_palette_keys_do_nothing_on_any_screen_and_only_term_hup_end_it(term):
    start_demo(term)
    term.wait_for("DEMO - nothing")  # the service is up: the flow below won't wait for it
    hostile_keys_do_nothing(term, WELCOME)

    choose(term, "reset")
    term.type("alice")
    term.wait_for("│  alice ")
    hostile_keys_do_nothing(term, IDENTIFY)
    term.keys("Enter")

    term.wait_for(CHALLENGE)
    answer_challenge(term, ALICE, submit=False)
    hostile_keys_do_nothing(term, CHALLENGE)
    term.keys("Enter")

    term.wait_for(NEW_PASSWORD)
    term.type("Zq9!")
    term.wait_for("│  ••••  ")
    hostile_keys_do_nothing(term, NEW_PASSWORD)
    term.keys("C-u")  # empty the field (Input's delete-to-start) and type a full password
    term.wait_until(lambda s: boxes(s)[0] == "", what="field emptied")
    new_password(term, "Newpass!2026x")

    term.wait_for(DONE)
    hostile_keys_do_nothing(term, DONE)

    # Signals from outside: INT, QUIT and TSTP are ignored (TSTP would stop it: state T).
    for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
        term.signal(number)
        time.sleep(SETTLE)
        assert term.alive(), f"{number!r} stopped or killed the kiosk"
    term.keys("Enter")  # still answering keys: Done -> back to the start
    term.wait_for(WELCOME)

    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
    assert not term.alternate_screen(), "SIGTERM left the terminal in the alternate screen"


def test_sighup_ends_the_kiosk_cleanly(term):
    start_demo(term)
    choose(term, "reset")
    term.type("alice")
    term.wait_for("│  alice ")
    term.signal(signal.SIGHUP)
    assert term.wait_exit() == 0
    assert not term.alternate_screen(), "SIGHUP left the terminal in the alternate screen"
    assert "alice" not in term.scrollback()


# --- key bursts ---------------------------------------------------------------------------------------


def test_bursts_where_two_fields_meet_land_in_the_right_fields(term):
    start_demo(term)
    term.wait_for("DEMO - nothing")

    # name, Enter, then the password before the next screen is even there: typed
    # ahead, it lands masked in the password field
    choose(term, "enroll")
    term.keys("bob", "Enter", "Demo!Bob22")
    screen = term.wait_for(CURRENT_PASSWORD)
    time.sleep(SETTLE)
    screen = term.screen()
    assert "Demo!Bob22" not in screen and boxes(screen) == ["•" * len("Demo!Bob22")], screen
    term.keys("Escape")  # back to "who are you": the name field holds the name only
    screen = term.wait_for(IDENTIFY)
    assert boxes(screen) == ["bob"], screen
    term.keys("Escape")

    # the three answers of a challenge in one burst
    choose(term, "reset")
    term.keys("alice", "Enter")
    first, second, third = wait_challenge(term, ALICE)
    term.keys(first, "Tab", second, "Tab", third)
    screen = term.wait_until(lambda s: all(boxes(s)), what="three answers")
    time.sleep(SETTLE)
    screen = term.screen()
    assert boxes(screen) == ["•" * len(first), "•" * len(second), "•" * len(third)], screen
    term.keys("Enter")

    # new password and its confirmation in one burst, with Tab and then with Enter
    term.wait_for(NEW_PASSWORD)
    term.keys("Newpass!2026x", "Tab", "Newpass!2026x")
    term.wait_until(lambda s: boxes(s)[:2] == ["•" * 13] * 2, what="two masked passwords")
    term.keys("Escape")  # Esc wipes this screen's fields and goes back
    term.wait_for(CHALLENGE)




def test_a_burst_across_enrollment_steps_never_corrupts_the_step_it_came_from(term, demo_config):
    """Keys typed ahead after Enter go to the next step or nowhere (they may be
    dropped while the step changes: the person then retypes them), but never
    into the previous step's fields, which would refuse a good answer."""
    start_demo(term, [PYTHON, "-m", "kiosk", "--config", str(demo_config())])
    choose(term, "enroll")
    term.keys("bob", "Enter")
    term.wait_for(CURRENT_PASSWORD)
    term.type("Demo!Bob22")
    term.keys("Enter")
    term.wait_for("Security question 1 of 3")
    term.keys("Vermilion", "Tab", "Vermilion", "Enter", "Tab", "Danube", "Tab", "Danube", "Enter")
    time.sleep(1.0)
    screen = term.screen()
    # Step 2 either got the keys typed ahead (and went on to step 3) or dropped them.
    moved_on = "Security question 2 of 3" in screen or "Security question 3 of 3" in screen
    assert moved_on, f"step 1 did not accept its own answer:\n{screen}"
    assert "Security question 1 of 3" not in screen, screen


def test_answers_then_the_new_password_in_one_burst_never_reach_the_answer_fields(term):
    """Today the new password is appended to an answer: 'do not match our records', and
    the failure counts against the throttle."""
    start_demo(term)
    term.wait_for("DEMO - nothing")
    choose(term, "reset")
    term.keys("alice", "Enter")
    first, second, third = wait_challenge(term, ALICE)
    term.keys(first, "Tab", second, "Tab", third, "Enter", "Tab", "Newpass!2026x")
    screen = term.wait_until(lambda s: NEW_PASSWORD in s or "do not match" in s, what="an outcome")
    assert "do not match" not in screen, screen


def test_name_tab_password_burst_never_shows_the_password(term):
    """A password manager's name<Tab>password: Tab goes on from the only field,
    and the password lands masked on the next screen, never in the name field."""
    start_demo(term)
    choose(term, "enroll")
    term.keys("bob", "Tab", "Demo!Bob22")
    screen = term.wait_for(CURRENT_PASSWORD)
    time.sleep(SETTLE)
    screen = term.screen()
    assert "Demo!Bob22" not in screen, screen
    assert boxes(screen) == ["•" * len("Demo!Bob22")], screen
    term.keys("Escape")
    screen = term.wait_for(IDENTIFY)
    assert boxes(screen) == ["bob"], screen


def test_name_enter_and_the_first_answer_in_one_burst_land_in_the_first_answer_field(term):
    """Typeahead (issue 12): what is typed after Enter, while the challenge is
    being prepared, lands in its first answer field, masked; the kiosk verifies it."""
    start_demo(term)
    term.wait_for("DEMO - nothing")
    choose(term, "reset")
    term.keys("alice", "Enter", ALICE["city"])  # one send-keys: one burst
    typed = wait_challenge(term, ALICE)
    assert typed[0] == ALICE["city"], f"the demo asks alice {typed}: the city first"
    screen = term.wait_until(lambda s: boxes(s)[0] != "", what="the typed-ahead answer")
    time.sleep(SETTLE)
    screen = term.screen()
    assert boxes(screen) == ["•" * len(ALICE["city"]), "", ""], screen
    assert ALICE["city"] not in screen, screen
    for answer in typed[1:]:  # the rest typed as usual: the kiosk checks all three
        term.keys("Tab")
        term.type(answer)
    term.wait_until(lambda s: [len(b) for b in boxes(s)] == [len(a) for a in typed], what="bullets")
    term.keys("Enter")
    screen = term.wait_until(lambda s: NEW_PASSWORD in s or "do not match" in s, what="an outcome")
    assert NEW_PASSWORD in screen, f"the kiosk did not accept the typed-ahead answer:\n{screen}"


# --- idle timeout -------------------------------------------------------------------------------------------


def test_idle_timeout_returns_to_welcome_with_every_field_empty(term, demo_config):
    start_demo(term, [PYTHON, "-m", "kiosk", "--config", str(demo_config(idle_timeout_seconds=5))])
    choose(term, "reset")
    term.keys("alice", "Enter")
    answer_challenge(term, {"colour": "Teal", "river": "Rhine", "uncle": "Bertram"}, submit=False)
    idle_from = time.monotonic()
    term.wait_for(WELCOME, timeout=12)
    waited = time.monotonic() - idle_from
    assert 4.5 <= waited <= 11, f"back to Welcome after {waited:.1f}s with a 5 s timeout"

    choose(term, "reset")
    screen = term.screen()
    assert boxes(screen) == [""] and NAME_HINT in screen, f"the name survived the timeout:\n{screen}"
    term.keys("alice", "Enter")
    screen = term.wait_for(CHALLENGE)
    time.sleep(SETTLE)
    screen = term.screen()
    assert boxes(screen) == ["", "", ""], f"answers survived the timeout:\n{screen}"


# --- secrets -------------------------------------------------------------------------------------------------


def test_no_typed_secret_is_ever_on_screen_or_in_the_scrollback(term, demo_config):
    """Bob sets up his questions, then resets his password; the screen is read
    after every step. His current password is printed by the demo's own banner
    on the Welcome screen, so that one is checked everywhere else."""
    answers = {"colour": "Vermilion7", "river": "Danube-Delta", "uncle": "Theobald Q"}
    password, current = "Fresh!Pass-2026", "Demo!Bob22"
    secrets_typed = [*answers.values(), password]
    screens: list[str] = []

    def look(text: str, timeout: float = 10.0) -> str:
        screen = term.wait_for(text, timeout)
        time.sleep(0.05)
        screens.append(term.screen())
        return screen

    start_demo(term, [PYTHON, "-m", "kiosk", "--config", str(demo_config())])
    look(WELCOME)
    choose(term, "enroll")
    term.type("bob")
    look("│  bob ")
    term.keys("Enter")
    look(CURRENT_PASSWORD)
    term.type(current)
    look("│  " + "•" * len(current))
    term.keys("Enter")
    for number, (qid, question) in enumerate(QUESTIONS, 1):
        look(f"Security question {number} of 3")
        assert question in screens[-1]
        answer = answers[qid]
        term.type(answer)
        term.keys("Tab")
        term.type(answer)
        look("│  " + "•" * len(answer) + " ")
        term.wait_until(lambda s: boxes(s) == ["•" * len(answer)] * 2, what="answer twice")
        term.keys("Enter")
    look(REVIEW)
    term.keys("Enter")
    look("security questions are saved")
    term.keys("Enter")

    choose(term, "reset")
    term.type("bob")
    look("│  bob ")
    term.keys("Enter")
    look(CHALLENGE)
    answer_challenge(term, answers, submit=False)
    look(CHALLENGE)
    term.keys("Enter")
    look(NEW_PASSWORD)
    term.type(password)
    term.keys("Tab")
    term.type(password)
    look("[x] Both entries match")
    term.keys("Enter")
    look(DONE)
    term.keys("Enter")
    look(WELCOME)

    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
    screens.append(term.scrollback())
    for screen in screens:
        for secret in secrets_typed:
            assert secret not in screen, f"{secret!r} on screen:\n{screen}"
        if WELCOME not in screen:
            assert current not in screen, f"the current password on screen:\n{screen}"
    assert current not in screens[-1], "the current password in the scrollback"


# --- the Samba AD lab -----------------------------------------------------------------------------------------


LAB_CONFIG = """
[directory]
urls = ["{url}"]
ca_file = "{ca}"
tls_server_name = "{tls}"
service_user = '{svc}'
default_domain = "{netbios}"
[[directory.domains]]
netbios = "{netbios}"
dns = "{dns}"
base_dn = "{base}"

[eligibility]
allowed_ous = ["{staff}"]
denied_groups = ["{denied}"]
""" + CHEAP_LOCAL_TOML + """
[kiosk]
title = "Password self-service - lab e2e"
terminal_id = "e2e-lab"
log_file = "{dir}/kiosk.log"
"""


def test_a_reset_in_the_terminal_changes_the_password_in_samba_ad(term, lab, lab_user, tmp_path):
    from kiosk.backend.wiring import build_service
    from kiosk.config.loading import load_settings

    env = lab.env
    config = tmp_path / "kiosk.toml"
    config.write_text(
        LAB_CONFIG.format(
            url=env["KIOSK_TEST_LDAP_URL"], ca=env["KIOSK_TEST_CA_FILE"], tls=env["KIOSK_TEST_TLS_SERVER_NAME"],
            svc=env["KIOSK_TEST_SVC_USER"], netbios=env["KIOSK_TEST_NETBIOS_DOMAIN"],
            dns=env["KIOSK_TEST_UPN_SUFFIX"], base=env["KIOSK_TEST_BASE_DN"], staff=env["KIOSK_TEST_STAFF_OU"],
            denied=env["KIOSK_TEST_KIOSK_DENIED_GROUP_DN"], dir=tmp_path,
        )
    )
    secret_env = {"KIOSK_DIRECTORY__SERVICE_PASSWORD": lab.svc_password}
    answers = {"birth-city": "Springfield", "first-pet": "Snowball", "first-school": "Elementary"}
    service = build_service(load_settings(config, secret_env))
    try:
        visit = service.begin(lab_user.sam, "e2e-setup")
        service.prove_password(visit, lab_user.password)
        service.enroll(visit, list(answers.items()))
        service.end(visit)
    finally:
        service.close()

    by_word = {"city": answers["birth-city"], "pet": answers["first-pet"], "school": answers["first-school"]}
    new = "Term#Reset-2026x"
    start_demo(term, [PYTHON, "-m", "kiosk", "--config", str(config)], env=secret_env)
    choose(term, "reset")
    term.type(lab_user.sam)
    term.keys("Enter")
    answer_challenge(term, by_word)
    new_password(term, new)
    screen = term.wait_for(DONE, timeout=20)
    assert lab_user.nt_name in screen
    shown = [screen, term.screen()]
    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
    shown.append(term.scrollback())
    for text in shown:
        for secret in (new, *answers.values(), lab.svc_password):
            assert secret not in text

    assert lablib.can_bind(lab, lab_user.nt_name, new)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


# --- the launcher ---------------------------------------------------------------------------------------------


def test_the_launcher_scrubs_a_hostile_environment(term, demo_config, tmp_path):
    key_log = tmp_path / "textual-keys.log"
    hostile = {
        "KIOSK_PYTHON": PYTHON,
        "KIOSK_CONFIG": str(demo_config()),
        "TEXTUAL_ALLOW_SIGNALS": "1",
        "PYTHONINSPECT": "1",
        "TEXTUAL_LOG": str(key_log),
        "TEXTUAL_PRESS": "ctrl+q",
        "PYTHONSTARTUP": "/nonexistent/startup.py",
    }
    start_demo(term, ["/bin/sh", str(LAUNCHER)], env=hostile)
    choose(term, "reset")
    term.type("alice")
    term.wait_for("│  alice ")
    hostile_keys_do_nothing(term, IDENTIFY)

    term.signal(signal.SIGTERM)
    assert term.wait_exit(timeout=5) == 0, "no Python prompt (PYTHONINSPECT) after the kiosk ends"
    assert ">>>" not in term.scrollback()
    assert not key_log.exists(), "TEXTUAL_LOG reached the kiosk: every key would be logged"


def test_the_launcher_refuses_a_session_without_a_terminal(demo_config):
    done = subprocess.run(
        ["/bin/sh", str(LAUNCHER)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=10,
        env={"KIOSK_PYTHON": PYTHON, "KIOSK_CONFIG": str(demo_config()), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 1
    assert "needs an interactive terminal (ssh -t)" in done.stderr
    assert done.stdout == ""


# --- start-up ------------------------------------------------------------------------------------------


def test_a_configuration_the_validator_refuses_stops_the_kiosk_in_plain_words(term, demo_config):
    """The first frame is drawn from the raw file; the validation that follows
    (in a child process) refuses it: the kiosk stops with status 2 and the
    validator's message, before anyone could be served, and no traceback."""
    term.start([PYTHON, "-m", "kiosk", "--config", str(demo_config(idle_timeout_seconds=2))])
    assert term.wait_exit(timeout=15) == 2
    text = term.scrollback()
    assert "kiosk.idle_timeout_seconds = 2: Input should be greater than or equal to 5" in text, text
    assert "Traceback" not in text
    assert not term.alternate_screen()
