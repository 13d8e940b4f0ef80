"""What the helpdesk screens share on top of ``KioskScreen`` (banner, message
line, key hints, too-small view, burst-safe Enter): their own key hints."""

from __future__ import annotations

from kiosk.screens.base import KioskScreen


class HelpdeskScreen(KioskScreen):
    keys_key = "helpdesk.keys.search"
