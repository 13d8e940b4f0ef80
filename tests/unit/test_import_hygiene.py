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


def test_backend_config_and_messages_do_not_import_textual_or_rich():
    modules = _headless_modules()
    assert "kiosk.backend.service" in modules or len(modules) > 3
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"Textual/Rich imported by the headless modules: {result.stdout}"
