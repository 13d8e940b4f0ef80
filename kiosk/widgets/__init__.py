"""Widgets of the kiosk: SecretInput (no copy/cut), PolicyChecklist."""
