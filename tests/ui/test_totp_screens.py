"""TOTP through the kiosk's screens (Pilot, 80x24): enrollment with the real
use case (demo directory, real SQLite store, frozen clock; the code typed is
the test's own RFC 6238 computation from the key shown on the screen), then
reset with questions + code, a refused code, a recovery code, and the same
screens for unknown, unenrolled and authenticator-less people."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import Static

import totp_reference as ref
from kiosk.app import KioskApp
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.cli import demo_settings
from kiosk.screens.challenge import ChallengeScreen
from kiosk.screens.code import CodeScreen
from kiosk.screens.current_password import CurrentPasswordScreen
from kiosk.screens.new_password import NewPasswordScreen
from kiosk.screens.recovery_codes import RecoveryCodesScreen
from kiosk.screens.result import ResultScreen
from kiosk.screens.totp_setup import TotpSetupScreen
from kiosk.screens.welcome import WelcomeScreen
from kiosk.widgets.qr import QrCode, qr_lines
from support import fast
from ui.helpers import screen_text, settle, type_text
from ui.test_flows import answer_challenge, choose, identify

SIZE = (80, 24)
NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)
USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob222"),
    DemoUser("carol", "Carol", "Clark", "Demo!Carol3"),
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]


class Clock:
    now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(tmp_path, clock):
    (tmp_path / "secrets").mkdir()
    settings = fast(
        demo_settings(tmp_path),
        kiosk={"theme": "default", "lockdown": False},
        features={"totp": True},
        factors={"reset": [["questions", "totp"]], "totp_key_file": str(tmp_path / "secrets" / "kiosk_totp_key")},
    )
    service = SelfService(settings, open_backend(settings, directory=DemoDirectory(USERS)), clock=clock)
    for user, password in (("alice", "Demo!Alice1"), ("bob", "Demo!Bob222")):
        visit = service.begin(user, "setup")
        service.prove_password(visit, password)
        service.enroll(visit, ANSWERS)
    yield service
    service.close()


async def enter(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot)


async def enroll_totp(pilot, app, name: str, password: str) -> tuple[str, list[str]]:
    await choose(pilot, "totp")
    await identify(pilot, name)
    assert isinstance(app.screen, CurrentPasswordScreen)
    assert "Set up an authenticator app" in screen_text(app)
    await enter(pilot, password)
    assert isinstance(app.screen, TotpSetupScreen), screen_text(app)
    secret = str(app.screen.query_one("#secret", Static).render()).replace(" ", "").replace("\n", "")
    await enter(pilot, ref.code(secret, NOW.timestamp()))
    assert isinstance(app.screen, RecoveryCodesScreen), screen_text(app)
    codes = str(app.screen.query_one("#codes", Static).render()).split()
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(app.screen, ResultScreen)
    assert "authenticator app is set up" in screen_text(app)
    await pilot.press("enter")
    await settle(pilot)
    return secret, codes


async def test_enroll_through_the_screens_then_reset_with_questions_and_the_code(service, clock, tmp_path):
    app = KioskApp(service.__dict__["_settings"], service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, WelcomeScreen)
        secret, codes = await enroll_totp(pilot, app, "alice", "Demo!Alice1")
        assert len(codes) == 10
        assert isinstance(app.screen, WelcomeScreen)

        clock.now = NOW.replace(second=45)  # the next time step
        await choose(pilot, "reset")
        await identify(pilot, "alice")
        await answer_challenge(pilot, *(a for _, a in ANSWERS))
        assert isinstance(app.screen, CodeScreen), screen_text(app)
        await enter(pilot, ref.code(secret, clock.now.timestamp()))
        assert isinstance(app.screen, NewPasswordScreen), screen_text(app)


async def test_the_setup_screen_fits_80x24_with_the_whole_qr_code(service):
    app = KioskApp(service.__dict__["_settings"], service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await choose(pilot, "totp")
        await identify(pilot, "alice")
        await enter(pilot, "Demo!Alice1")
        qr = app.screen.query_one(QrCode)
        region = qr.region
        assert region.height == len(qr.lines) <= 22 and region.width == len(qr.lines[0])
        assert region.bottom <= 24 and region.right <= 80
        secret = app.screen.query_one("#secret", Static)
        assert secret.region.height == 2 and secret.region.right <= region.x


async def test_a_wrong_code_is_refused_on_the_questions_and_a_recovery_code_works_once(service, tmp_path):
    app = KioskApp(service.__dict__["_settings"], service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        _, codes = await enroll_totp(pilot, app, "bob", "Demo!Bob222")
        await choose(pilot, "reset")
        await identify(pilot, "bob")
        await answer_challenge(pilot, *(a for _, a in ANSWERS))
        await enter(pilot, "000000")
        assert isinstance(app.screen, ChallengeScreen)
        assert "answers or that code do not match" in screen_text(app)
        for attempt in range(2):
            await answer_challenge(pilot, *(a for _, a in ANSWERS))
            assert isinstance(app.screen, CodeScreen)
            await enter(pilot, codes[0])
            if attempt == 0:
                assert isinstance(app.screen, NewPasswordScreen), screen_text(app)
                app.request_reset()  # leave; start again with the same recovery code
                await settle(pilot)
                await choose(pilot, "reset")
                await identify(pilot, "bob")
            else:
                assert isinstance(app.screen, ChallengeScreen), screen_text(app)
                assert "answers or that code do not match" in screen_text(app)


async def walk_to_refusal(app, pilot, name: str) -> list[str]:
    """The texts a person reads on each screen from Identify to the refusal."""
    await choose(pilot, "reset")
    await identify(pilot, name)
    assert isinstance(app.screen, ChallengeScreen)
    shown = [f"{len(app.screen.query('Input'))} questions"]
    await answer_challenge(pilot, *(a for _, a in ANSWERS))
    assert isinstance(app.screen, CodeScreen)
    shown.append(screen_text(app))
    await enter(pilot, "123456")
    assert isinstance(app.screen, ChallengeScreen)
    shown.append(screen_text(app).rpartition("\n")[0].rpartition("\n")[2])
    shown.append(str(app.screen.query_one("#message", Static).render()))
    return shown


async def test_unknown_unenrolled_and_authenticator_less_people_see_the_same_screens(service):
    """nobody (unknown), carol (no questions), alice (questions, no app) and
    bob (questions and app, wrong code): the same screens, the same words."""
    app = KioskApp(service.__dict__["_settings"], service=service)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await enroll_totp(pilot, app, "bob", "Demo!Bob222")
        seen = {}
        for name in ("nobody", "carol", "alice", "bob"):
            seen[name] = await walk_to_refusal(app, pilot, name)
            app.request_reset()
            await settle(pilot)
        assert seen["nobody"] == seen["carol"] == seen["alice"] == seen["bob"]
        assert "Code from your authenticator app" in seen["nobody"][1]


def test_the_qr_code_uses_only_glyphs_of_the_linux_consoles_font():
    from kiosk.backend.totp import provisioning_uri

    lines = qr_lines(provisioning_uri("A" * 32, "john.smith", "Example Corp"))
    assert set("".join(lines)) <= set("█▀▄ ")  # CP437 0xDB, 0xDF, 0xDC and space


@pytest.mark.parametrize(
    ("account", "issuer"),
    [("jsmith", "Kiosk"), ("john.smith", "Example Corp"), ("christopher.mont", "Example Corporation Ltd."),
     ("abcdefghijklmnopqrst", "X" * 24)],
)
def test_realistic_uris_fit_the_screen(account, issuer):
    from kiosk.backend.totp import provisioning_uri

    uri = provisioning_uri("A" * 32, account, issuer)
    lines = qr_lines(uri)
    assert len(lines) <= 22 and len(lines[0]) <= 45, (len(uri), len(lines), len(lines[0]))
