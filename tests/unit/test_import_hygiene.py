"""The domain and the catalogue never load Textual or Rich (like Harlequin's test)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import kiosk.backend


def _headless_modules() -> list[str]:
    names = ["kiosk.config", "kiosk.messages", "kiosk.backend"]
    for info in pkgutil.walk_packages(kiosk.backend.__path__, prefix="kiosk.backend."):
        names.append(info.name)
    return sorted(set(names))


def loaded_after(code: str, packages: tuple[str, ...]) -> list[str]:
    """The modules of ``packages`` that a fresh interpreter has loaded after running ``code``."""
    probe = (
        f"{code}\n"
        "import sys\n"
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {packages!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [m for m in result.stdout.strip().split(",") if m]


def test_backend_config_and_messages_do_not_import_textual_or_rich():
    modules = _headless_modules()
    assert "kiosk.backend.service" in modules or len(modules) > 3
    code = f"import importlib\nfor name in {modules!r}:\n    importlib.import_module(name)"
    assert loaded_after(code, ("textual", "rich")) == [], "Textual/Rich imported by the headless modules"


def test_the_kiosk_reaches_its_first_frame_without_pydantic_ldap3_or_argon2():
    """Everything `kiosk` imports before its first frame: the heavy libraries
    load after it (ldap3, argon2: the service worker) or in a child (pydantic)."""
    code = (
        "import kiosk.cli, kiosk.app\n"
        "from kiosk.config.startup import provisional_settings, read_config\n"
        "provisional_settings({})"
    )
    heavy = ("pydantic", "pydantic_core", "pydantic_settings", "ldap3", "argon2", "sqlite3")
    assert loaded_after(code, heavy) == [], "loaded before the first frame"
