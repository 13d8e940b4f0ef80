"""A kiosk that is set up wrong does not start: ``kiosk`` exits 2 with one
message naming the key or file, never a traceback, and before anything else
(the check for a terminal comes after the configuration's).

Run as the real command, ``python -m kiosk --config ...``, without a tty.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GOOD = """
[directory]
urls = ["ldaps://127.0.0.1:1"]
ca_file = "{ca}"
service_user = "EXAMPLE\\\\svc-kiosk"
[[directory.domains]]
netbios = "EXAMPLE"
dns = "example.com"
base_dn = "DC=example,DC=com"
[store]
url = "sqlite://{dir}/kiosk.db"
[audit]
file = "{dir}/audit.jsonl"
[kiosk]
log_file = "{dir}/kiosk.log"
"""

@pytest.fixture
def setup(tmp_path: Path) -> dict:
    ca = tmp_path / "ca.pem"
    _make_ca(ca)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "kiosk_directory__service_password").write_text("s3cret!\n")
    config = tmp_path / "kiosk.toml"
    config.write_text(GOOD.format(ca=ca, dir=tmp_path))
    return {"dir": tmp_path, "ca": ca, "secrets": secrets, "config": config}


def _make_ca(path: Path) -> None:
    """A real self-signed CA certificate, made with openssl when it is there."""
    done = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(path.with_suffix(".key")), "-out", str(path), "-days", "2", "-subj", "/CN=kiosk-test-ca"],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("openssl cannot make a test CA")


def kiosk(setup: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_") and k != "CREDENTIALS_DIRECTORY"}
    environ["KIOSK_SECRETS_DIR"] = str(setup["secrets"])
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "--config", str(setup["config"]), *args],
        capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL, env=environ,
    )


def refused(done: subprocess.CompletedProcess, *words: str) -> str:
    """Exit 2, one message (no traceback) on stderr that holds every word."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
    assert done.stderr.startswith("kiosk: "), done.stderr
    assert "interactive terminal" not in done.stderr, f"the tty check came before the config's: {done.stderr}"
    for word in words:
        assert word in done.stderr, (word, done.stderr)
    return done.stderr


def test_a_good_config_gets_as_far_as_the_terminal_check(setup):
    done = kiosk(setup)
    assert done.returncode == 2 and "interactive terminal" in done.stderr, done.stderr


def test_a_missing_config_file_is_named(setup):
    setup["config"] = setup["dir"] / "nowhere.toml"
    refused(kiosk(setup), "no configuration file at", "nowhere.toml")


def test_a_config_that_is_not_toml_is_named(setup):
    setup["config"].write_text("[directory\nurls = ")
    refused(kiosk(setup), "kiosk.toml", "not valid TOML")


def test_a_bad_value_names_the_key(setup):
    text = setup["config"].read_text().replace("[directory]\n", "[directory]\ntimeout_seconds = -3\n", 1)
    setup["config"].write_text(text.replace("[directory]\n", "[directory]\nconnect_timeout_seconds = \"soon\"\n"))
    message = refused(kiosk(setup), "directory.timeout_seconds", "directory.connect_timeout_seconds")
    assert "-3" in message


def test_a_misspelt_key_is_named(setup):
    setup["config"].write_text(setup["config"].read_text().replace("[kiosk]\n", "[kiosk]\nidle_timout_seconds = 5\n"))
    refused(kiosk(setup), "kiosk.idle_timout_seconds", "unknown key")


def test_a_bad_environment_override_names_the_key(setup):
    refused(kiosk(setup, env={"KIOSK_THROTTLE__ACCOUNT_MAX_FAILURES": "0"}), "throttle.account_max_failures")


def test_an_unreadable_secret_file_is_named(setup):
    secret = setup["secrets"] / "kiosk_directory__service_password"
    secret.unlink()
    secret.mkdir()  # root reads any file whatever its mode: a directory cannot be read as one
    refused(kiosk(setup), "cannot read the secret file", str(secret))


def test_a_secret_file_that_is_not_text_is_named(setup):
    secret = setup["secrets"] / "kiosk_directory__service_password"
    secret.write_bytes(b"\xff\xfe\x00garbage")
    refused(kiosk(setup), str(secret))


def test_a_missing_service_password_is_named(setup):
    (setup["secrets"] / "kiosk_directory__service_password").unlink()
    refused(kiosk(setup), "kiosk_directory__service_password")


def test_an_empty_service_password_is_named(setup):
    (setup["secrets"] / "kiosk_directory__service_password").write_text("\n")
    refused(kiosk(setup), "kiosk_directory__service_password", "empty")


def test_a_missing_ca_file_is_named(setup):
    setup["ca"].unlink()
    refused(kiosk(setup), "directory.ca_file", str(setup["ca"]))


@pytest.mark.parametrize("kind", ["empty", "text", "truncated"])
def test_a_ca_file_that_holds_no_certificate_is_named(setup, kind):
    real = setup["ca"].read_bytes()
    setup["ca"].write_bytes({"empty": b"", "text": b"not a certificate\n", "truncated": real[: len(real) // 2]}[kind])
    refused(kiosk(setup), "directory.ca_file", str(setup["ca"]))


def test_kiosk_check_reports_a_bad_ca_file_without_a_traceback(setup):
    setup["ca"].write_bytes(b"not a certificate\n")
    done = kiosk(setup, "check")
    assert done.returncode == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "directory.ca_file" in done.stdout and str(setup["ca"]) in done.stdout, done.stdout
