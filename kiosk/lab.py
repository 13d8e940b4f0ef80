"""``kiosk demo --lab``: the kiosk against the Samba AD lab the tests use.

The lab is a real (Samba) Active Directory domain controller on 127.0.0.1,
started by ``scripts/ad-lab`` from a checkout of this repository (root only).
``lab_settings_from_env`` is also how the tests point a kiosk at the lab.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from kiosk.backend.errors import ConfigError
from kiosk.config import Settings
from kiosk.config.loading import settings_from

REPO = Path(__file__).resolve().parent.parent
LAB_SCRIPT = REPO / "scripts" / "ad-lab"
LAB_DIR = REPO / ".lab"


def lab_settings_from_env(env: Mapping[str, str], workdir: Path, *, locked: bool = False) -> Settings:
    """Settings for a kiosk on the lab described by ``scripts/ad-lab env`` output."""
    base_dn = env["KIOSK_TEST_BASE_DN"]
    return settings_from(
        {
            "directory": {
                "urls": [env["KIOSK_TEST_LDAP_URL"]],
                "ca_file": env["KIOSK_TEST_CA_FILE"],
                "tls_server_name": env["KIOSK_TEST_TLS_SERVER_NAME"],
                "service_user": env["KIOSK_TEST_SVC_USER"],
                "service_password": env["KIOSK_TEST_SVC_PASSWORD"],
                "domains": [
                    {
                        "netbios": env["KIOSK_TEST_NETBIOS_DOMAIN"],
                        "dns": env["KIOSK_TEST_UPN_SUFFIX"],
                        "base_dn": base_dn,
                    }
                ],
                "default_domain": env["KIOSK_TEST_NETBIOS_DOMAIN"],
            },
            "eligibility": {
                "allowed_ous": [env["KIOSK_TEST_STAFF_OU"]],
                "denied_groups": [env["KIOSK_TEST_KIOSK_DENIED_GROUP_DN"]],
            },
            "store": {"url": f"sqlite://{workdir / 'kiosk.db'}"},
            "audit": {"file": str(workdir / "audit.jsonl")},
            "kiosk": {
                "title": "Password self-service - Samba AD lab",
                "lockdown": locked,
                "log_file": str(workdir / "kiosk.log"),
            },
        }
    )


def _lab_script(*args: str) -> str:
    if not LAB_SCRIPT.exists():
        raise ConfigError(f"kiosk demo --lab needs a checkout of kiosk with {LAB_SCRIPT.relative_to(REPO)}")
    done = subprocess.run([str(LAB_SCRIPT), *args], capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise ConfigError(f"scripts/ad-lab {' '.join(args)} failed:\n{done.stderr.strip()[-2000:]}")
    return done.stdout


def lab_settings(*, locked: bool = False) -> Settings:
    """Start the lab (if needed) and return settings for a kiosk on it."""
    _lab_script("start", str(LAB_DIR))
    env: dict[str, str] = {}
    for line in _lab_script("env", str(LAB_DIR)).splitlines():
        words = shlex.split(line)
        if len(words) == 2 and words[0] == "export":
            key, _, value = words[1].partition("=")
            env[key] = value
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-lab-demo-"))
    return lab_settings_from_env(env, workdir, locked=locked)
