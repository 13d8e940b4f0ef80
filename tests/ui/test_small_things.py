"""Small things people notice (issue 12): the result countdown, the name
hint once, the question picker's prompt, and (messages) durations in words."""

from __future__ import annotations

from textual.widgets import Input, OptionList, Select

from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.result import ResultScreen
from ui.helpers import screen_text, settle, type_text, wait_until
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)


async def test_back_to_the_start_counts_down(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "paris", "rex", "elm street")
        assert isinstance(app.screen, ResultScreen)
        assert "Back to the start in 8 s." in screen_text(app)
        await wait_until(pilot, lambda: "Back to the start in 7 s." in screen_text(app))
        assert "in 8 s" not in screen_text(app)


async def test_the_name_hint_is_shown_once(app):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        assert isinstance(app.screen, IdentifyScreen)
        hint = "user name, DOMAIN\\name or name@domain"
        field = app.screen.query_one("#user", Input)
        assert not field.placeholder  # not in the field...
        assert screen_text(app).count(hint) == 1  # ...only under it


async def _at_the_group_step(pilot) -> EnrollQuestionsScreen:
    await choose(pilot, "enroll")
    await identify(pilot, "bob")
    await type_text(pilot, "Bob-pass1")
    await pilot.press("enter")
    await settle(pilot)
    for _ in range(2):
        await type_text(pilot, "Lyon")
        await pilot.press("enter")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, EnrollQuestionsScreen)
    assert screen.focused is screen.query_one("#picker")
    return screen


async def test_the_question_pickers_prompt_is_not_a_choice(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        screen = await _at_the_group_step(pilot)
        picker = screen.query_one("#picker", Select)
        assert picker.value is Select.NULL  # the prompt shows while nothing is chosen
        drop_down = picker.query_one(OptionList)
        assert drop_down.get_option_at_index(0).disabled  # its line cannot be picked
        assert all(not drop_down.get_option_at_index(i).disabled for i in range(1, drop_down.option_count))
        await pilot.press("enter")  # open the drop-down
        await pilot.press("up", "up", "enter")  # up to the top and choose
        await pilot.pause()
        assert picker.value in {"first-pet", "first-school", "childhood-street"}


def test_durations_are_said_as_set():
    from kiosk.messages import duration

    assert duration(30) == "30 seconds"
    assert duration(60) == "1 minute"
    assert duration(90) == "1 minute 30 seconds"
    assert duration(300) == "5 minutes"
    assert duration(7200) == "2 hours"
    assert duration(1) == "1 second"
