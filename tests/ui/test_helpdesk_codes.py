"""The helpdesk's caller check by a code instead of questions read out, with
Pilot against the REAL Helpdesk on the demo directory, a real SQLite store and
a real SMTP relay on loopback (aiosmtpd, STARTTLS): the code of the caller's
authenticator app (computed by the test's own RFC 6238 implementation), a code
e-mailed to the caller's address (read from the mail that arrived), the card
showing which methods are set up and when, and removing an app from the card."""

from __future__ import annotations

import json
import re
import time

import pytest
from textual.widgets import Button

import totp_reference as ref
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.wiring import build_helpdesk, build_service
from kiosk.cli import demo_settings
from kiosk.helpdesk_app import HelpdeskApp
from kiosk.screens.helpdesk.account import HelpdeskAccountScreen
from kiosk.screens.helpdesk.code import HelpdeskCodeScreen
from kiosk.screens.helpdesk.confirm import HelpdeskConfirmScreen
from smtp import SmtpServer
from support import fast
from ui.helpers import screen_text, settle, type_text
from ui.test_helpdesk import OPERATORS, open_account, sign_in

SIZE = (80, 24)


@pytest.fixture
def relay(tmp_path):
    server = SmtpServer(tmp_path / "relay").start()
    yield server
    server.stop()


@pytest.fixture
def settings(tmp_path, relay):
    return fast(
        demo_settings(tmp_path),
        helpdesk={"operator_groups": [OPERATORS]},
        kiosk={"theme": "default", "lockdown": True},
        features={"totp": True},
        mail=relay.mail_settings(),
        factors={"helpdesk": [["questions"], ["totp"], ["email"]], "totp_key_file": str(tmp_path / "totp_key")},
    )


@pytest.fixture
def desk(settings):
    directory = DemoDirectory()
    service = build_service(settings, directory=directory)
    seed_demo(service, directory)
    # alice sets up an authenticator app at the kiosk.
    visit = service.begin("alice", "kiosk-1")
    service.prove_password(visit, "Demo!Alice1")
    setup = service.totp_begin(visit)
    service.totp_confirm(visit, ref.code(setup.secret, time.time()))
    desk = build_helpdesk(settings, operator="dana", terminal="t", directory=directory)
    desk.secret = setup.secret  # for the test: the app's key
    yield desk
    desk.close()


def buttons(app) -> dict[str, bool]:
    return {b.id.removeprefix("action-"): not b.disabled for b in app.screen.query("#actions Button").results(Button)}


async def press(pilot, action: str) -> None:
    screen = pilot.app.screen
    screen.set_focus(screen.query_one(f"#action-{action}", Button))
    await pilot.press("enter")
    await settle(pilot, timeout=15.0)


async def verify_by(pilot, way: str) -> None:
    """"Verify caller", then the way (``verify_totp``, ``verify_email``) in the chooser."""
    from textual.widgets import OptionList

    from kiosk.screens.helpdesk.method import HelpdeskMethodScreen

    await press(pilot, "verify")
    assert isinstance(pilot.app.screen, HelpdeskMethodScreen), screen_text(pilot.app)
    options = pilot.app.screen.query_one(OptionList)
    options.highlighted = [o.id for o in options.options].index(way)
    await pilot.press("enter")
    await settle(pilot, timeout=15.0)


async def enter(pilot, value: str) -> None:
    await type_text(pilot, value)
    await pilot.press("enter")
    await settle(pilot, timeout=15.0)


def audit(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


async def test_the_caller_check_by_the_authenticator_apps_code(settings, desk, tmp_path):
    app = HelpdeskApp(settings, helpdesk=desk, operator="dana")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "alice")
        card = screen_text(app)
        assert re.search(r"Authenticator\s+set up \d{4}-\d\d-\d\d", card), card
        assert "E-mail codes   to a***@demo.example" in card, card
        assert buttons(app) == {"verify": True, "unlock": False, "reset": False, "revoke": True, "revoke_totp": True}
        assert dict(desk.card(desk.search("alice")[0]).actions) == {
            "verify": True, "verify_totp": True, "verify_email": True, "unlock": False, "reset": False,
            "revoke": True, "revoke_totp": True,
        }
        await verify_by(pilot, "verify_totp")
        assert isinstance(app.screen, HelpdeskCodeScreen), screen_text(app)
        right = ref.code(desk.secret, time.time() + 30)  # the next step: the enrollment's is used
        await enter(pilot, f"{(int(right) + 1) % 10**6:06d}")
        assert "NOT verified: the code does not match" in screen_text(app)
        await enter(pilot, right)
        assert isinstance(app.screen, HelpdeskAccountScreen), screen_text(app)
        assert "VERIFIED in this session" in screen_text(app)
        assert buttons(app)["reset"] and buttons(app)["unlock"]
    lines = [e for e in audit(tmp_path) if e["event"] == "verify" and e.get("operator") == "dana"]
    assert [(e["outcome"], e["fields"]["factor"]) for e in lines] == [("failure", "totp"), ("success", "totp")]


async def test_the_caller_check_by_an_emailed_code_and_removing_an_app(settings, desk, relay, tmp_path):
    app = HelpdeskApp(settings, helpdesk=desk, operator="dana")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "bob")
        assert "Authenticator  none" in screen_text(app)
        assert "revoke_totp" not in buttons(app)
        assert not dict(desk.card(desk.search("bob")[0]).actions)["verify_totp"]
        await verify_by(pilot, "verify_email")
        assert isinstance(app.screen, HelpdeskCodeScreen), screen_text(app)
        assert "A code was sent to b***@demo.example" in screen_text(app)
        mail = [r for r in relay.to("bob@demo.example") if r.message["Subject"] == "Your one-time code"][-1]
        code = re.search(r"^\s+(\d{6})\s*$", mail.message.get_payload(decode=True).decode(), re.MULTILINE).group(1)
        await enter(pilot, code)
        assert isinstance(app.screen, HelpdeskAccountScreen), screen_text(app)
        assert "VERIFIED in this session" in screen_text(app)

    app = HelpdeskApp(settings, helpdesk=desk, operator="dana")
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot)
        await open_account(pilot, "alice")
        await press(pilot, "revoke_totp")
        assert isinstance(app.screen, HelpdeskConfirmScreen)
        await pilot.press("tab", "enter")
        await settle(pilot, timeout=15.0)
        assert "The authenticator app of DEMO\\alice is removed." in screen_text(app)
        assert "Authenticator  none" in screen_text(app)
        assert "revoke_totp" not in buttons(app)
    assert desk.backend.store.totp(desk.backend.directory.search_accounts("alice")[0].guid) is None
    removed = [e for e in audit(tmp_path) if e["event"] == "helpdesk_revoke_totp"]
    assert [(e["outcome"], e["operator"]) for e in removed] == [("success", "dana")]
    assert desk.backend.notices is not None
    desk.backend.notices.wait()
    subjects = [r.message["Subject"] for r in relay.to("alice@demo.example")]
    assert "Your authenticator app was removed by the helpdesk" in subjects
