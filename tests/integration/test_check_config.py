"""``kiosk check`` against the Samba AD lab: configurations that bind and
read fine but cannot work as meant. Each mistake fails (or warns) on its own
line, with its cause and its fix."""

from __future__ import annotations

import io
import re

from kiosk.check import CheckResult, print_checks, run_checks
from kiosk.config import DirectorySettings, EligibilitySettings
from kiosk.config.validation import validate
from support import lab_directory_settings

try:
    import lab as lablib
except ImportError:  # tests/ became a package
    from tests import lab as lablib


class Whole:
    """What `kiosk check` holds: Settings with .directory and .eligibility."""

    def __init__(self, directory: DirectorySettings, **eligibility) -> None:
        self.directory = directory
        self.eligibility = EligibilitySettings(**eligibility)


def named(results: list[CheckResult], name: str) -> list[CheckResult]:
    return [r for r in results if r.name == name or r.name.startswith(name + " ")]


def failures(results: list[CheckResult]) -> list[CheckResult]:
    return [r for r in results if not r.ok]


def printed(results: list[CheckResult]) -> tuple[int, str]:
    out = io.StringIO()
    return print_checks(results, out), out.getvalue()


def good_rules(lab) -> dict:
    return dict(
        allowed_ous=[lab.staff_ou],
        allowed_groups=[lab.kiosk_users_dn],
        denied_groups=[lab.kiosk_denied_dn],
        denied_users=["guest"],
    )


def test_a_good_configuration_passes_with_one_warning_for_history(lab):
    results = run_checks(Whole(lab_directory_settings(lab), **good_rules(lab)), test_account="alice")
    assert failures(results) == []
    [eligible] = named(results, "eligibility")
    assert eligible.ok and "are eligible (e.g. KIOSK\\" in eligible.message
    [service] = named(results, "service account")
    assert service.state == "ok" and "no administrative group" in service.message
    [domain] = named(results, "domain")
    assert "in the domain KIOSK (kiosk.test" in domain.message
    # Samba refuses the policy-hints control: a warning, not a failure.
    [hints] = named(results, "policy hints")
    assert hints.state == "warn"
    assert "cannot enforce password history" in hints.message and "Samba" in hints.message
    assert [r.name for r in results if r.state == "warn"] == ["policy hints"]
    code, out = printed(results)
    assert code == 0
    assert "warn  policy hints: the DC refuses the policy-hints control" in out
    assert out.splitlines()[-1] == f"{len(results) - 1} passed, 1 warnings, 0 failed"


def test_policy_hints_turned_off_in_the_config_is_said(lab):
    [hints] = named(run_checks(lab_directory_settings(lab, use_policy_hints=False)), "policy hints")
    assert hints.state == "warn"
    assert "directory.use_policy_hints is false" in hints.message and "do not enforce password history" in hints.message


def test_a_misspelled_allowed_ou_and_a_missing_denied_group(lab):
    typo_ou = "OU=Stuff," + lab.base_dn
    missing_group = "CN=No Self Service,OU=Groups," + lab.base_dn
    results = run_checks(Whole(lab_directory_settings(lab), allowed_ous=[typo_ou], denied_groups=[missing_group]))
    [ou] = named(results, "eligibility allowed_ous")
    assert not ou.ok
    assert ou.message.startswith(f"{typo_ou} does not exist") and "check its spelling" in ou.message
    [group] = named(results, "eligibility denied_groups")
    assert not group.ok
    assert group.message.startswith(f"{missing_group} does not exist") and "denies nobody" in group.message
    [nobody] = [r for r in results if r.name == "eligibility"]
    assert not nobody.ok and nobody.message.startswith("nobody is eligible")
    code, out = printed(results)
    assert code == 1 and out.splitlines()[-1].endswith("3 failed")


def test_a_dn_in_no_configured_domain(lab):
    results = run_checks(Whole(lab_directory_settings(lab), allowed_groups=["CN=Staff,OU=Groups,DC=example,DC=com"]))
    [group] = named(results, "eligibility allowed_groups")
    assert not group.ok
    assert f"is in no configured domain ({lab.base_dn})" in group.message and "fix the DN" in group.message


def test_an_allowed_group_that_is_not_a_group(lab):
    [group] = named(run_checks(Whole(lab_directory_settings(lab), allowed_groups=[lab.staff_ou])), "eligibility allowed_groups")
    assert not group.ok
    assert "is not a group (organizationalunit, top)" in group.message


def test_rules_that_leave_nobody_eligible(lab):
    # Allowed only to the denied group's members: everyone exists, nobody gets in.
    rules = dict(allowed_groups=[lab.kiosk_denied_dn], denied_groups=[lab.kiosk_denied_dn], allowed_ous=[lab.staff_ou])
    results = run_checks(Whole(lab_directory_settings(lab), **rules))
    assert [r.name for r in failures(results)] == ["eligibility"]
    [nobody] = failures(results)
    assert nobody.message.startswith("nobody is eligible among ")
    assert f"accounts under {lab.staff_ou}" in nobody.message
    # The reasons are counted, the most common first (which come first depends on the lab's accounts).
    assert re.search(r"\(\d+ [a-z]", nobody.message) and "not a member of an allowed group" in nobody.message


def test_an_unknown_denied_user_is_a_warning(lab):
    results = run_checks(Whole(lab_directory_settings(lab), **{**good_rules(lab), "denied_users": ["guset"]}))
    [denied] = named(results, "eligibility denied_users")
    assert denied.state == "warn" and "'guset' matches no account in KIOSK" in denied.message
    assert printed(results)[0] == 0


def test_a_domain_admin_as_the_service_account(lab, lab_admin, lab_user):
    domain_admins = "CN=Domain Admins,CN=Users," + lab.base_dn
    lablib.add_member(lab_admin, domain_admins, lab_user.dn)
    results = run_checks(lab_directory_settings(lab, service_user=lab_user.nt_name, service_password=lab_user.password))
    [service] = named(results, "service account")
    assert not service.ok
    assert service.message.startswith(f"{lab_user.dn} is a member (nested counts) of Domain Admins")
    assert "must not be an administrator" in service.message


def test_a_nested_account_operator_as_the_service_account(lab, lab_admin, lab_user):
    # Found by SID through tokenGroups: a group of ours inside BUILTIN\Account Operators.
    operators = "CN=Account Operators,CN=Builtin," + lab.base_dn
    group = lablib.create_group(lab, lab_admin, members=[lab_user.dn])
    try:
        lablib.add_member(lab_admin, operators, group)
        results = run_checks(lab_directory_settings(lab, service_user=lab_user.upn, service_password=lab_user.password))
        [service] = named(results, "service account")
        assert not service.ok
        assert "Account Operators" in service.message and "Domain Admins" not in service.message
    finally:
        lablib.delete_entry(lab_admin, group)


def test_a_fine_grained_policy_the_service_account_cannot_read(lab, lab_admin, lab_user):
    pso = lablib.create_pso(lab, lab_admin, [lab_user.dn], min_length=14)
    try:
        results = run_checks(lab_directory_settings(lab))
        [settings] = named(results, "password settings")
        assert not settings.ok
        assert pso.split(",", 1)[0] in settings.message
        assert "cannot read" in settings.message and "Password Settings Container" in settings.message
        # The fix as the README gives it: read access for the service account.
        lablib.grant_read(lab, lab_admin, pso, lab.svc_dn)
        [settings] = named(run_checks(lab_directory_settings(lab)), "password settings")
        assert settings.ok and "1 fine-grained password policy(ies), all readable" in settings.message
    finally:
        lablib.delete_entry(lab_admin, pso)


def test_a_netbios_name_that_is_not_the_domains(lab):
    domains = [{"netbios": "CORP", "dns": lab.dns_domain, "base_dn": lab.base_dn}]
    results = run_checks(lab_directory_settings(lab, domains=domains, default_domain="CORP"))
    [domain] = named(results, "domain")
    assert not domain.ok
    assert f"is in the domain {lab.netbios} ({lab.dns_domain}), not CORP" in domain.message
    assert f'set netbios = "{lab.netbios}"' in domain.message


# --- a demo directory in a config (no lab) ---------------------------------------


def demo_settings(**values) -> DirectorySettings:
    return validate(DirectorySettings, {"kind": "demo", **values}, "demo settings")


def test_the_example_configs_domain_with_a_demo_directory():
    # deploy/kiosk.toml.example's default_domain and allowed_ous, with kind = "demo".
    directory = demo_settings(
        default_domain="EXAMPLE",
        domains=[{"netbios": "EXAMPLE", "dns": "example.com", "base_dn": "DC=example,DC=com"}],
    )
    results = run_checks(Whole(directory, allowed_ous=["OU=Staff,DC=example,DC=com"]))
    [demo] = named(results, "directory")
    assert demo.ok and demo.message.startswith("demo directory:")
    [default] = named(results, "default domain")
    assert not default.ok
    assert default.message.startswith("every demo name would be unknown: a bare name is looked up in EXAMPLE")
    [ou] = named(results, "eligibility allowed_ous")
    assert not ou.ok and "holds no demo account" in ou.message
    assert printed(results)[0] == 1


def test_a_plain_demo_directory_says_what_it_holds():
    results = run_checks(Whole(demo_settings()))
    assert failures(results) == []
    [eligible] = named(results, "eligibility")
    assert "are eligible" in eligible.message
