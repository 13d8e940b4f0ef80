"""What the helpdesk screens share on top of ``KioskScreen`` (banner, message
line, key hints, too-small view, burst-safe Enter): a typed handle on the app."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from kiosk.screens.base import KioskScreen

if TYPE_CHECKING:
    from kiosk.helpdesk_app import HelpdeskApp


class HelpdeskScreen(KioskScreen):
    keys_key = "helpdesk.keys.search"

    @property
    def desk(self) -> HelpdeskApp:
        return cast("HelpdeskApp", self.app)
