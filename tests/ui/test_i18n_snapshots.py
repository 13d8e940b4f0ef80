"""Every kiosk screen at 80x24 in French and in Simplified Chinese (double-width
characters), against the fakes, with the default questions' translations.

The English pictures are tests/ui/test_snapshots.py's (and the other
*_snapshots.py): one language configured, no picker, unchanged. Regenerate
after a deliberate change (and review the SVGs):
    .venv/bin/python -m pytest tests/ui/test_i18n_snapshots.py --snapshot-update -p no:cacheprovider
"""

from __future__ import annotations

import pytest
from textual.widgets import Select

from kiosk import app as app_module
from kiosk import messages
from kiosk.app import KioskApp
from kiosk.backend.questions import Questionnaire, check_answer
from kiosk.config import FeatureSettings, QuestionsSettings
from kiosk.config.loading import settings_from
from ui import fakes
from ui.fakes import FakeActivation, FakeService
from ui.helpers import settle, type_text
from ui.test_flows import answer_challenge, choose, identify

LANGUAGES = ["en", "fr", "de", "zh_Hans"]
SHOWN = ["fr", "zh_Hans"]


DEFAULTS = Questionnaire.from_settings(QuestionsSettings())


@pytest.fixture(autouse=True)
def fixed_reference(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(app_module, "new_reference", lambda: "K-000000")
    # The fakes ask their own questions: the default ones, with their translations.
    for name, question_id in (("CITY", "birth-city"), ("PET", "first-pet"), ("SCHOOL", "first-school"),
                              ("STREET", "childhood-street")):
        monkeypatch.setattr(fakes, name, DEFAULTS.questions[question_id])
    yield
    messages.configure(None)  # the next test starts in English, with no overrides


class TranslatedFake(FakeService):
    """The fake with the questionnaire's real rules (their refusals are translated)."""

    def check_answer(self, visit, question_id, answer, earlier_answers=()):
        check_answer(self.questionnaire.questions[question_id], answer, earlier_answers=earlier_answers)


def service(**kw: object) -> FakeService:
    features = FeatureSettings(activate=True, totp=True, change=True)
    return TranslatedFake(features=features, questionnaire=DEFAULTS, **kw)


#: What activation asks: the code (a built-in text) and a configured proof, labelled per language.
PROOF = {"attribute": "employeeID", "label": {"en": "Employee ID", "fr": "Matricule", "zh_Hans": "工号"}}


def kiosk(language: str, fake: FakeService | None = None) -> KioskApp:
    fake = fake or service()
    activation = FakeActivation(questionnaire=fake.questionnaire, labels=("Activation code", "Employee ID"))
    kiosk_settings = {"theme": "default", "languages": LANGUAGES, "default_language": language}
    return KioskApp(
        settings_from({"directory": {"kind": "demo"}, "kiosk": kiosk_settings, "activation": {"proof": [PROOF]}}),
        service=fake,
        activation=activation,
        environ={"TERM": "xterm-256color"},
        result_tick=0,
    )


async def enter_text(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot)


async def to_enroll(pilot) -> None:
    await choose(pilot, "enroll")
    await identify(pilot, "bob")
    await enter_text(pilot, "Bob-pass1")


async def pick(pilot, question_id: str) -> None:
    screen = pilot.app.screen
    screen.query_one(Select).value = question_id
    screen.set_focus(screen.query_one("#answer"))
    await pilot.pause()


async def welcome(pilot) -> None:
    pass


async def identify_screen(pilot) -> None:
    await choose(pilot, "unlock")
    await type_text(pilot, "alice")


async def current_password(pilot) -> None:
    await choose(pilot, "enroll")
    await identify(pilot, "bob")
    await type_text(pilot, "hunter2")


async def enroll_single(pilot) -> None:
    await to_enroll(pilot)
    await type_text(pilot, "Lyon")


async def enroll_group(pilot) -> None:
    await to_enroll(pilot)
    await enter_text(pilot, "Lyon")
    await enter_text(pilot, "Lyon")
    await pick(pilot, "favourite-teacher")


async def enroll_group_open(pilot) -> None:
    await to_enroll(pilot)
    await enter_text(pilot, "Lyon")
    await enter_text(pilot, "Lyon")
    await pilot.press("enter")  # the picker opens: every question in the language
    await pilot.pause()


async def enroll_rejected(pilot) -> None:
    await to_enroll(pilot)
    await enter_text(pilot, "ab")
    await enter_text(pilot, "ab")


async def enroll_review(pilot) -> None:
    await to_enroll(pilot)
    for question, answer in ((None, "Lyon"), ("first-pet", "Misty"), ("first-school", "Hillside")):
        if question:
            await pick(pilot, question)
        await enter_text(pilot, answer)
        await enter_text(pilot, answer)
    await pilot.pause()


async def enroll_done(pilot) -> None:
    await enroll_review(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def challenge(pilot) -> None:
    await choose(pilot, "unlock")
    await identify(pilot, "alice")
    await enter_text(pilot, "paris")


async def challenge_failed(pilot) -> None:
    await choose(pilot, "unlock")
    await identify(pilot, "alice")
    await answer_challenge(pilot, "a-1", "b-2", "c-3")


async def new_password(pilot) -> None:
    await choose(pilot, "reset")
    await identify(pilot, "alice")
    await answer_challenge(pilot, "paris", "rex", "elm street")
    await type_text(pilot, "Longer-one")


async def new_password_refused(pilot) -> None:
    await choose(pilot, "reset")
    await identify(pilot, "alice")
    await answer_challenge(pilot, "paris", "rex", "elm street")
    await enter_text(pilot, "Used-Before1")
    await enter_text(pilot, "Used-Before1")


async def result_unlocked(pilot) -> None:
    await choose(pilot, "unlock")
    await identify(pilot, "alice")
    await answer_challenge(pilot, "paris", "rex", "elm street")


async def result_reset(pilot) -> None:
    await new_password(pilot)
    await pilot.press("enter")
    await enter_text(pilot, "Longer-one")


async def error_panel(pilot) -> None:
    pilot.app.service.down = True
    await choose(pilot, "unlock")
    await identify(pilot, "alice")


async def change_current(pilot) -> None:
    await choose(pilot, "change")
    await identify(pilot, "bob")
    await type_text(pilot, "hunter2")


async def change_done(pilot) -> None:
    await choose(pilot, "change")
    await identify(pilot, "bob")
    await enter_text(pilot, "Bob-pass1")
    await type_text(pilot, "Brand-new#2026")
    await pilot.press("enter")
    await enter_text(pilot, "Brand-new#2026")


async def activate_proof(pilot) -> None:
    await choose(pilot, "activate")
    await identify(pilot, "erin")
    await type_text(pilot, "K7F2-93QD")
    await pilot.press("tab")
    await type_text(pilot, "E20")


async def activate_failed(pilot) -> None:
    await choose(pilot, "activate")
    await identify(pilot, "nobody")
    await type_text(pilot, "K7F2-93QD")
    await pilot.press("tab")
    await enter_text(pilot, "E2001")


async def totp_setup(pilot) -> None:
    await choose(pilot, "totp")
    await identify(pilot, "alice")
    await enter_text(pilot, "Alice-pass1")
    await type_text(pilot, "12")


async def totp_recovery(pilot) -> None:
    await choose(pilot, "totp")
    await identify(pilot, "alice")
    await enter_text(pilot, "Alice-pass1")
    await enter_text(pilot, "123456")


async def code_step(pilot) -> None:
    pilot.app.service.code_actions.add("reset")
    await choose(pilot, "reset")
    await identify(pilot, "alice")
    await answer_challenge(pilot, "Paris", "Rex", "Elm Street")
    await enter_text(pilot, "000000")


async def factor_choice(pilot) -> None:
    pilot.app.service.email_actions.add("reset")
    await choose(pilot, "reset")
    await identify(pilot, "alice")


async def email_code(pilot) -> None:
    await factor_choice(pilot)
    await pilot.press("down", "enter")
    await settle(pilot)
    await answer_challenge(pilot, "Paris", "Rex", "Elm Street")
    await type_text(pilot, "4242")


async def email_code_resent(pilot) -> None:
    await email_code(pilot)
    await pilot.press("f5")
    await settle(pilot)


SCREENS = {
    "welcome": welcome,
    "identify": identify_screen,
    "current_password": current_password,
    "enroll_single": enroll_single,
    "enroll_group": enroll_group,
    "enroll_group_open": enroll_group_open,
    "enroll_rejected": enroll_rejected,
    "enroll_review": enroll_review,
    "enroll_done": enroll_done,
    "challenge": challenge,
    "challenge_failed": challenge_failed,
    "new_password": new_password,
    "new_password_refused": new_password_refused,
    "result_unlocked": result_unlocked,
    "result_reset": result_reset,
    "error_panel": error_panel,
    "change_current": change_current,
    "change_done": change_done,
    "activate_proof": activate_proof,
    "activate_failed": activate_failed,
    "totp_setup": totp_setup,
    "totp_recovery": totp_recovery,
    "code_refused": code_step,
    "factor_choice": factor_choice,
    "email_code": email_code,
    "email_code_resent": email_code_resent,
}


@pytest.mark.parametrize("screen", list(SCREENS))
@pytest.mark.parametrize("language", SHOWN)
def test_screen(snap_compare, language, screen):
    assert snap_compare(kiosk(language), run_before=SCREENS[screen])


@pytest.mark.parametrize("language", SHOWN)
def test_terminal_too_small(snap_compare, language):
    assert snap_compare(kiosk(language), terminal_size=(60, 20))


def test_picker_from_english_to_chinese(snap_compare):
    """F2 from the default: the picker line marks the language, every text follows."""

    async def run_before(pilot):
        for _ in range(3):
            await pilot.press("f2")
        await pilot.pause()

    assert snap_compare(kiosk("en"), run_before=run_before)
