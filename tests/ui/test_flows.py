"""User stories, driven with Pilot against the in-memory FakeService."""

from __future__ import annotations

from textual.widgets import Input, Select

from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.enroll_questions import EnrollQuestionsScreen
from kiosk.screens.enroll_review import EnrollReviewScreen
from kiosk.screens.error import ErrorScreen
from kiosk.screens.identify import IdentifyScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.welcome import WelcomeScreen
from ui.helpers import screen_text, settle, type_text

SIZE = (80, 24)


async def choose(pilot, action: str) -> None:
    """On Welcome, move to the option with this id and press Enter."""
    from textual.widgets import OptionList

    options = pilot.app.screen.query_one(OptionList)
    index = [o.id for o in options.options].index(action)
    options.highlighted = index
    await pilot.press("enter")
    await settle(pilot)


async def identify(pilot, name: str) -> None:
    assert isinstance(pilot.app.screen, IdentifyScreen)
    await type_text(pilot, name)
    await pilot.press("enter")
    await settle(pilot)


async def answer_challenge(pilot, *answers: str) -> None:
    assert isinstance(pilot.app.screen, ChallengeScreen)
    for answer in answers:
        await type_text(pilot, answer)
        await pilot.press("enter")
    await settle(pilot)


async def test_welcome_shows_enabled_choices(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        words = screen_text(app)
        assert "Password self-service" in words
        from textual.widgets import OptionList

        ids = [o.id for o in app.screen.query_one(OptionList).options]
        assert ids == ["unlock", "reset", "enroll"]  # activate is off by default
        await pilot.pause()


async def test_unlock_with_right_answers(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        assert isinstance(app.screen, ChallengeScreen)
        await answer_challenge(pilot, "Paris", "Rex", "Elm Street")
        assert isinstance(app.screen, ResultScreen)
        assert "KIOSK\\alice is unlocked" in screen_text(app)
        assert fake.names()[:4] == ["begin", "challenge", "verify", "unlock"]
        # Done goes back to a fresh Welcome and ends the visit
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        assert len(app.screen_stack) == 2
        assert "end" in fake.names()


async def test_wrong_answers_say_nothing_about_which(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "Paris", "WRONG", "Elm Street")
        assert isinstance(app.screen, ChallengeScreen)
        message = str(app.screen.query_one("#message").render())
        assert "do not match our records" in message
        assert not any(ch.isdigit() for ch in message)  # never "question 2 was wrong"
        assert all(f.value == "" for f in app.screen.query(Input))


async def test_unknown_user_sees_the_same_screens(app, fake):
    seen = {}
    for name in ("alice", "nobody"):
        async with app.__class__(app.settings, service=fake).run_test(size=SIZE) as pilot:
            the_app = pilot.app
            await choose(pilot, "reset")
            await identify(pilot, name)
            screens = [type(the_app.screen).__name__, len(the_app.screen.query(Input))]
            await answer_challenge(pilot, "one", "two", "three")
            screens += [type(the_app.screen).__name__, screen_text(the_app).count("do not match")]
            seen[name] = screens
    assert seen["alice"] == seen["nobody"] == ["ChallengeScreen", 3, "ChallengeScreen", 1]


async def test_reset_explains_a_weak_password_then_takes_a_good_one(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "reset")
        await identify(pilot, "alice")
        await answer_challenge(pilot, "paris", "rex", "elm street")
        assert isinstance(app.screen, NewPasswordScreen)
        # too short and simple: the checklist says so and nothing is sent
        await type_text(pilot, "abc")
        await pilot.press("tab")
        await type_text(pilot, "abc")
        await pilot.press("enter")
        assert "does not meet every rule" in screen_text(app)
        assert "[ ] At least 8 characters" in screen_text(app)
        assert "reset_password" not in fake.names()
        # good by the checklist, but the directory refuses it (history)
        app.screen.wipe()
        app.screen.set_focus(app.screen.query_one("#new"))
        await type_text(pilot, "Used-Before1")
        await pilot.press("enter")
        await type_text(pilot, "Used-Before1")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, NewPasswordScreen)
        assert "You have used this password before" in screen_text(app)
        assert all(f.value == "" for f in app.screen.query(Input))
        # a good one
        await type_text(pilot, "Fresh-Start9")
        await pilot.press("enter")
        await type_text(pilot, "Fresh-Start9")
        assert "[x] At least 8 characters" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert "The password of KIOSK\\alice is changed" in screen_text(app)
        assert fake.passwords["alice"] == "Fresh-Start9"


async def test_enroll_then_challenge_then_unlock(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "enroll")
        await identify(pilot, "bob")
        assert isinstance(app.screen, CurrentPasswordScreen)
        await type_text(pilot, "wrong")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CurrentPasswordScreen)
        assert "do not match" in screen_text(app)
        await type_text(pilot, "Bob-pass1")
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, EnrollQuestionsScreen)
        # step 1: a single question
        assert "In which city" in screen_text(app)
        await type_text(pilot, "Lyon")
        await pilot.press("enter")
        await type_text(pilot, "Lyon")
        await pilot.press("enter")
        # step 2: pick from the group
        picker = screen.query_one(Select)
        assert app.focused is picker
        ids = [value for _, value in picker._options if value is not Select.NULL]
        assert ids == ["first-pet", "first-school", "childhood-street"]
        picker.value = "first-pet"
        screen.set_focus(screen.query_one("#answer"))
        await type_text(pilot, "ab")  # too short: the rule in words
        await pilot.press("enter")
        await type_text(pilot, "ab")
        await pilot.press("enter")
        assert "at least 3 characters" in screen_text(app)
        assert screen.answers_given() == ["birth-city"]
        await type_text(pilot, "Misty")
        await pilot.press("enter")
        await type_text(pilot, "Misty")
        await pilot.press("enter")
        # step 3: the pet question is gone from the group
        ids = [value for _, value in picker._options if value is not Select.NULL]
        assert ids == ["first-school", "childhood-street"]
        picker.value = "childhood-street"
        screen.set_focus(screen.query_one("#answer"))
        await type_text(pilot, "Oak Lane")
        await pilot.press("enter")
        await type_text(pilot, "Oak Lane")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, EnrollReviewScreen)
        words = screen_text(app)
        assert "What street did you live on" in words
        assert "Lyon" not in words and "Misty" not in words and "Oak Lane" not in words
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ResultScreen)
        assert ("enroll", ("birth-city", "first-pet", "childhood-street")) in fake.calls
        await pilot.press("enter")
        await settle(pilot)
        # now unlock with the new answers
        await choose(pilot, "unlock")
        await identify(pilot, "bob")
        await answer_challenge(pilot, "lyon", "misty", "oak lane")
        assert isinstance(app.screen, ResultScreen)
        assert "KIOSK\\bob is unlocked" in screen_text(app)


async def test_directory_down_shows_panel_with_reference(app, fake):
    fake.down = True
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        await identify(pilot, "alice")
        assert isinstance(app.screen, ErrorScreen)
        words = screen_text(app)
        assert "cannot be reached" in words and "Reference: K-" in words
        assert "no DC answered" not in words  # details go to the log only
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)


async def test_escape_goes_back(app, fake):
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "unlock")
        assert isinstance(app.screen, IdentifyScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
