"""Change step 1: the current password (also an expired or temporary one)."""

from __future__ import annotations

from kiosk.screens.current_password import CurrentPasswordScreen


class ChangeCurrentPasswordScreen(CurrentPasswordScreen):
    title_key = "change.title"
    intro_key = "change.intro"
