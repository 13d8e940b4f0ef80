"""Directory services; ``open_directory`` picks one from the configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiosk.backend.directory.base import Directory

if TYPE_CHECKING:
    from kiosk.config import DirectorySettings

__all__ = ["Directory", "open_directory"]


def open_directory(settings: DirectorySettings, *, mail_attribute: str = "mail") -> Directory:
    """The directory named by ``settings.kind``, imported only when chosen
    (ldap3 costs ~90 ms to import: the demo and the first frame don't pay it)."""
    if settings.kind == "demo":
        from kiosk.backend.directory.demo import DemoDirectory

        return DemoDirectory()  # its people: kiosk.backend.demo_seed, run by the wiring
    from kiosk.backend.directory.ad import ActiveDirectory

    return ActiveDirectory(settings, mail_attribute=mail_attribute)
