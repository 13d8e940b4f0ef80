"""run_checks (``kiosk check``) against the Samba AD lab: each broken setting
gives a failing line that names the specific cause."""

from __future__ import annotations

import io
import ssl

import pytest

from kiosk import check
from kiosk.check import CheckResult, print_checks, run_checks
from kiosk.config import DirectorySettings
from support import lab_directory_settings

try:
    import lab as lablib
except ImportError:  # tests/ became a package
    from tests import lab as lablib

CLOSED_URL = "ldaps://127.0.0.1:1"




def by_step(results: list[CheckResult], step: str) -> list[CheckResult]:
    return [r for r in results if r.name.startswith(step + " ")]


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok]


def test_the_good_config_passes(lab):
    results = run_checks(lab_directory_settings(lab, urls=[lab.url, lab.starttls_url]), test_account="alice")
    assert failures(results) == []
    steps = [r.name.split(" ")[0] for r in results]
    # The configuration's own checks run once, after the first DC that works.
    configuration = ["domain", "default", "service", "policy", "password"]
    assert steps == ["dns", "tcp", "tls", "bind", "base", "policy", "rights", *configuration] + [
        "dns", "tcp", "tls", "bind", "base", "policy"
    ]
    assert "min length 7" in by_step(results, "policy")[0].message
    out = io.StringIO()
    assert print_checks(results, out) == 0
    # One warning: Samba refuses the policy-hints control (history on resets).
    assert [r.name for r in results if r.state == "warn"] == ["policy hints"]
    assert out.getvalue().splitlines()[-1] == f"{len(results) - 1} passed, 1 warnings, 0 failed"


def test_accepts_the_whole_settings_object(lab):
    class Whole:  # what `kiosk check` holds: Settings, with .directory
        directory = lab_directory_settings(lab)

    assert failures(run_checks(Whole())) == []


def test_wrong_ca_file(lab):
    other_ca = "/etc/ssl/certs/ca-certificates.crt"
    results = run_checks(lab_directory_settings(lab, ca_file=other_ca))
    [tls] = by_step(results, "tls")
    assert not tls.ok
    assert "unknown CA" in tls.message
    assert other_ca in tls.message
    assert "directory.ca_file" in tls.message
    assert by_step(results, "bind") == []  # later steps cannot run
    out = io.StringIO()
    assert print_checks(results, out) == 1
    assert "FAIL  tls 127.0.0.1:636: unknown CA" in out.getvalue()


def test_certificate_name_mismatch(lab):
    results = run_checks(lab_directory_settings(lab, tls_server_name=None))
    [tls] = by_step(results, "tls")
    assert not tls.ok
    assert "name mismatch" in tls.message
    assert lab.tls_server_name in tls.message  # the name the certificate does carry
    assert "directory.tls_server_name" in tls.message


def test_wrong_service_password_is_named_and_not_repeated(lab, lab_user, lab_admin):
    # A throwaway user as the "service account": refused binds count toward its lockout.
    settings = lab_directory_settings(
        lab, urls=[lab.url, lab.starttls_url], service_user=lab_user.nt_name, service_password="Wrong!Pass-1"
    )
    results = run_checks(settings)
    first, second = by_step(results, "bind")
    assert not first.ok
    assert first.message.startswith(f"the service account password for {lab_user.nt_name} was refused (AD data 52e")
    assert not second.ok and second.message.startswith("not tried")
    assert int(lablib.first(lablib.read_entry(lab_admin, lab_user.dn, ["badPwdCount"]), "badPwdCount")) == 1
    assert "Wrong!Pass-1" not in " ".join(r.message for r in results)


def test_locked_service_account(lab, lab_user):
    lablib.lock_by_bad_binds(lab, lab_user.nt_name)
    results = run_checks(lab_directory_settings(lab, service_user=lab_user.nt_name, service_password=lab_user.password))
    [bind] = by_step(results, "bind")
    assert not bind.ok
    assert "is locked out (AD data 775)" in bind.message


def test_disabled_service_account(lab, lab_admin):
    dn, sam, password = lablib.create_user(lab, lab_admin, attributes={"userAccountControl": 514})
    try:
        results = run_checks(lab_directory_settings(lab, service_user=lab.nt_name(sam), service_password=password))
        [bind] = by_step(results, "bind")
        assert not bind.ok
        assert "is disabled (AD data 533)" in bind.message
    finally:
        lablib.delete_user(lab_admin, dn)


def test_unreachable_dc_then_a_good_one(lab):
    results = run_checks(lab_directory_settings(lab, urls=[CLOSED_URL, lab.url]))
    [bad] = failures(results)
    assert bad.name == "tcp 127.0.0.1:1"
    assert "Connection refused" in bad.message
    assert all(r.ok for r in results if "636" in r.name or r.name.startswith(("base", "policy")))
    assert print_checks(results, io.StringIO()) == 1


def test_unresolvable_dc(lab):
    results = run_checks(lab_directory_settings(lab, urls=["ldaps://no-such-dc.invalid"]))
    [dns] = results
    assert not dns.ok
    assert "cannot resolve no-such-dc.invalid" in dns.message


def test_wrong_base_dn(lab):
    domains = [{"netbios": "OTHER", "dns": "other.test", "base_dn": "DC=other,DC=test"}]
    results = run_checks(lab_directory_settings(lab, domains=domains, default_domain="OTHER"))
    [base] = by_step(results, "base")
    assert not base.ok
    assert "DC=other,DC=test" in base.message


def test_rights_on_an_account_outside_the_delegation(lab):
    # dadmin is protected (adminCount, AdminSDHolder): the delegation does not reach it.
    results = run_checks(lab_directory_settings(lab), test_account="dadmin")
    [rights] = by_step(results, "rights")
    assert not rights.ok
    assert "lockoutTime" in rights.message
    [ok] = by_step(run_checks(lab_directory_settings(lab), test_account=f"{lab.netbios}\\bob"), "rights")
    assert ok.ok


# --- without the lab ---------------------------------------------------------------


def test_demo_directory_has_nothing_to_check():
    [result, default] = run_checks(DirectorySettings(kind="demo"))
    assert result.ok and "no domain controller to check" in result.message
    assert default.ok


def test_expired_certificate_message(monkeypatch):
    monkeypatch.setattr(
        check,
        "_fetch_unverified_certificate",
        lambda endpoint: {"subject": ((("commonName", "dc1.corp.example"),),), "notAfter": "Jan  1 00:00:00 2024 GMT"},
    )
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_code = 10
    error.verify_message = "certificate has expired"
    message = check._certificate_problem(error, None, "dc1.corp.example", "the CA file /etc/kiosk/ca.pem")
    assert message == "the DC's certificate CN=dc1.corp.example expired (Jan  1 00:00:00 2024 GMT); renew it on the DC"


def test_print_checks_format():
    out = io.StringIO()
    code = print_checks([CheckResult("tcp dc1:636", True, "connected"), CheckResult("bind dc1:636", False, "refused")], out)
    assert code == 1
    assert out.getvalue() == "ok    tcp dc1:636: connected\nFAIL  bind dc1:636: refused\n1 passed, 1 failed\n"


def test_warnings_are_printed_and_do_not_fail():
    out = io.StringIO()
    results = [CheckResult("tcp dc1:636", True, "connected"), CheckResult("policy hints", True, "refused", warning=True)]
    assert [r.state for r in results] == ["ok", "warn"]
    assert print_checks(results, out) == 0
    assert out.getvalue() == "ok    tcp dc1:636: connected\nwarn  policy hints: refused\n1 passed, 1 warnings, 0 failed\n"


@pytest.mark.parametrize(
    ("data", "total"), [(b"\x30\x0c", 14), (b"\x30\x81\x0c", 15), (b"\x30\x82\x01\x00", 260), (b"\x30\x82\x01", None)]
)
def test_ber_length(data, total):
    assert check._ber_total_length(data) == total
