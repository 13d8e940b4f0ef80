"""ActiveDirectory against the Samba AD lab (scripts/ad-lab), as the kiosk's
service account svc-kiosk (delegated reset/unlock on OU=Staff and OU=Contractors).

Tests that change state work on throwaway users (``lab_user`` / create_user),
so they do not depend on each other's side effects.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from kiosk.backend.directory.ad import ActiveDirectory
from kiosk.backend.eligibility import check_eligibility
from kiosk.backend.errors import (
    AccountDisabled,
    AccountLocked,
    AccountNotFound,
    DirectoryTLSError,
    DirectoryUnavailable,
    InsecureConnection,
    InvalidCredentials,
    PasswordMustChange,
    PasswordRejected,
    ServiceAccountError,
)
from kiosk.backend.identity import parse_identity
from kiosk.backend.model import Identity
from kiosk.config import EligibilitySettings
from support import lab_directory_settings

try:
    import lab as lablib
except ImportError:  # tests/ became a package
    from tests import lab as lablib

pytestmark = pytest.mark.lab

#: A port nothing listens on: connection refused at once.
CLOSED_URL = "ldaps://127.0.0.1:1"




@pytest.fixture
def directory(lab):
    ad = ActiveDirectory(lab_directory_settings(lab))
    yield ad
    ad.close()


def find(directory: ActiveDirectory, lab, typed: str):
    identity = parse_identity(typed, [(lab.netbios, lab.dns_domain)], lab.netbios)
    assert identity is not None, typed
    return directory.find_account(identity)


def bad_password_count(lab_admin, dn: str) -> int:
    return int(lablib.first(lablib.read_entry(lab_admin, dn, ["badPwdCount"]), "badPwdCount", 0))


# --- finding accounts --------------------------------------------------------------


def test_find_by_sam_domain_sam_and_upn_in_any_case(directory, lab, lab_user):
    by_sam = find(directory, lab, lab_user.sam)
    assert by_sam is not None
    assert by_sam.dn == lab_user.dn
    assert by_sam.sam == lab_user.sam
    assert by_sam.domain == lab.netbios
    assert by_sam.upn == lab_user.upn
    assert by_sam.display_name == f"Test {lab_user.sam}"
    assert by_sam.enabled and not by_sam.locked and not by_sam.admin_count
    assert by_sam.password_last_set is not None
    assert by_sam.never_logged_on
    for typed in (
        lab_user.nt_name,
        lab_user.sam.upper(),
        f"{lab.netbios.lower()}\\{lab_user.sam.upper()}",
        f"{lab.dns_domain}\\{lab_user.sam}",
        lab_user.upn,
        lab_user.upn.upper(),
    ):
        found = find(directory, lab, typed)
        assert found is not None, typed
        assert found.guid == by_sam.guid, typed


def test_unknown_names_and_filter_metacharacters_find_nothing(directory, lab, lab_user):
    assert find(directory, lab, "no-such-user") is None
    assert find(directory, lab, "nobody@kiosk.test") is None
    # Unescaped, "<sam>*@kiosk.test" would be a wildcard matching this user.
    assert find(directory, lab, f"{lab_user.sam}*@{lab.dns_domain}") is None
    # The parser refuses '*' in a bare name; the directory escapes it anyway.
    wildcard = f"{lab_user.sam[:-1]}*"
    assert directory.find_account(Identity(typed=wildcard, domain=lab.netbios, sam=wildcard)) is None
    injected = f"x)(sAMAccountName={lab_user.sam}"
    assert directory.find_account(Identity(typed=injected, domain=lab.netbios, sam=injected)) is None
    assert directory.find_account(Identity(typed="x", domain="OTHER", sam=lab_user.sam)) is None


def test_account_fields_and_extra_attributes(lab, lab_admin):
    dn, sam, _ = lablib.create_user(
        lab, lab_admin, attributes={"employeeID": "E4242", "department": "Lab", "mail": "x@kiosk.test"}
    )
    try:
        ad = ActiveDirectory(lab_directory_settings(lab), extra_attributes=["employeeID", "department"])
        try:
            account = find(ad, lab, sam)
        finally:
            ad.close()
        assert account.attributes == {"employeeID": "E4242", "department": "Lab"}
        assert account.given_name == "Test"
        assert account.surname == sam
        assert len(account.guid) == 36 and account.guid.count("-") == 4
    finally:
        lablib.delete_user(lab_admin, dn)


def test_refresh_by_guid_and_gone(directory, lab, lab_admin):
    dn, sam, _ = lablib.create_user(lab, lab_admin)
    account = find(directory, lab, sam)
    assert directory.refresh(account) == account
    lablib.delete_user(lab_admin, dn)
    with pytest.raises(AccountNotFound):
        directory.refresh(account)


def test_nested_group_membership(directory, lab, lab_user):
    account = find(directory, lab, lab_user.sam)
    # lab_user is a direct member of Staff Team, which is a member of Kiosk Users.
    assert lab.staff_team_dn.lower() in account.groups
    assert lab.kiosk_users_dn.lower() in account.groups
    # The primary group (not in memberOf, not seen by the in-chain rule).
    assert f"cn=domain users,cn=users,{lab.base_dn}".lower() in account.groups
    assert all(g == g.lower() for g in account.groups)


def test_token_groups_agree_with_the_in_chain_rule(directory, lab, lab_user, lab_admin):
    # The DC's own transitive walk (in-chain rule, as the lab admin) and the
    # primary group, against what the kiosk reads (tokenGroups resolved to DNs).
    for typed in (lab_user.sam, "mallory", "dadmin", "oscar"):
        account = find(directory, lab, typed)
        lab_admin.search(
            lab.base_dn, f"(&(objectClass=group)(member:{lablib.IN_CHAIN}:={account.dn}))", attributes=["groupType"]
        )
        security = {e.entry_dn.lower() for e in lab_admin.entries if int(e.groupType.value) & 0x80000000}
        assert security <= account.groups, typed
        assert f"cn=domain users,cn=users,{lab.base_dn}".lower() in account.groups, typed


# --- eligibility on real accounts ------------------------------------------------------


def test_eligibility_of_the_seeded_accounts(directory, lab):
    rules = EligibilitySettings(allowed_ous=[lab.staff_ou], denied_groups=[lab.kiosk_denied_dn])
    verdicts = {sam: check_eligibility(find(directory, lab, sam), rules) for sam in ("alice", "dadmin", "mallory", "dave", "oscar")}
    assert verdicts["alice"].allowed
    assert not verdicts["dadmin"].allowed and "privileged" in verdicts["dadmin"].reason
    assert not verdicts["mallory"].allowed and "denied group" in verdicts["mallory"].reason
    assert not verdicts["dave"].allowed and "disabled" in verdicts["dave"].reason
    assert not verdicts["oscar"].allowed and "allowed OUs" in verdicts["oscar"].reason
    dadmin = find(directory, lab, "dadmin")
    assert dadmin.admin_count
    assert f"cn=domain admins,cn=users,{lab.base_dn}".lower() in dadmin.groups
    # A nested allowed group: alice is in Kiosk Users only through Staff Team.
    assert check_eligibility(find(directory, lab, "alice"), EligibilitySettings(allowed_groups=[lab.kiosk_users_dn])).allowed
    assert not check_eligibility(find(directory, lab, "oscar"), EligibilitySettings(allowed_groups=[lab.kiosk_users_dn])).allowed


# --- verifying passwords ------------------------------------------------------------


def test_verify_password_right_and_wrong(directory, lab, lab_user, lab_admin):
    account = find(directory, lab, lab_user.sam)
    directory.verify_password(account, lab_user.password)
    with pytest.raises(InvalidCredentials) as caught:
        directory.verify_password(account, lab_user.password + "x")
    assert "52e" in caught.value.detail
    assert lab_user.password not in caught.value.detail


def test_a_bind_as_nobody_is_refused_like_a_wrong_password_and_counts_against_no_account(
    directory, lab, lab_user, lab_admin
):
    """What an unknown or ineligible name costs at enrollment: AD's own refusal
    (49) of a bind as an object that cannot exist, with the typed password."""
    with pytest.raises(InvalidCredentials) as caught:
        directory.bind_as_nobody(lab_user.password)
    assert lab_user.password not in caught.value.detail
    assert bad_password_count(lab_admin, lab_user.dn) == 0


def test_empty_password_is_refused_without_a_bind(directory, lab, lab_user, lab_admin):
    account = find(directory, lab, lab_user.sam)
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, "")
    assert bad_password_count(lab_admin, lab_user.dn) == 0


def test_disabled_account_with_the_right_password(directory, lab):
    dave = find(directory, lab, "dave")
    with pytest.raises(AccountDisabled):
        directory.verify_password(dave, lab.passwords["dave"])


def test_locked_by_real_bad_binds_then_unlocked(directory, lab, lab_user):
    messages = lablib.lock_by_bad_binds(lab, lab_user.nt_name)
    assert "775" in messages[-1] or "52e" in messages[-1]
    account = find(directory, lab, lab_user.sam)
    assert account.locked
    assert account.locked_since is not None
    assert account.bad_password_count >= lablib.LOCKOUT_THRESHOLD
    with pytest.raises(AccountLocked):
        directory.verify_password(account, lab_user.password)  # even the right one
    directory.unlock(account)
    unlocked = directory.refresh(account)
    assert not unlocked.locked
    assert unlocked.bad_password_count == 0
    directory.verify_password(unlocked, lab_user.password)


# --- resetting and changing --------------------------------------------------------------


def test_reset_then_the_new_password_binds_and_the_old_does_not(directory, lab, lab_user):
    account = find(directory, lab, lab_user.sam)
    new = lablib.new_password()
    directory.reset_password(account, new)
    directory.verify_password(account, new)
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, lab_user.password)


def test_reset_with_must_change(directory, lab, lab_user):
    account = find(directory, lab, lab_user.sam)
    new = lablib.new_password()
    directory.reset_password(account, new, must_change=True)
    assert directory.refresh(account).must_change_password
    with pytest.raises(PasswordMustChange):
        directory.verify_password(account, new)
    # The service connection can still do the user's change (they cannot bind).
    final = lablib.new_password()
    directory.change_password(account, new, final)
    assert not directory.refresh(account).must_change_password
    directory.verify_password(account, final)


def test_policy_hints_are_refused_by_samba_and_resets_still_work(directory, lab, lab_user):
    # Samba 4.17 answers 12 unavailableCriticalExtension to the critical
    # policy-hints control; the directory retries without it and remembers.
    # So a reset to the current password (history) is accepted here.
    account = find(directory, lab, lab_user.sam)
    assert directory.policy_hints_supported is None
    directory.reset_password(account, lab_user.password)
    assert directory.policy_hints_supported is False
    directory.verify_password(account, lab_user.password)
    without = ActiveDirectory(lab_directory_settings(lab, use_policy_hints=False))
    try:
        assert without.policy_hints_supported is False
        without.reset_password(account, lablib.new_password())
    finally:
        without.close()


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [("Ab1!", "too_short"), ("alllowercaseletters", "not_complex")],
)
def test_reset_rejections(directory, lab, lab_user, new_password, reason):
    account = find(directory, lab, lab_user.sam)
    with pytest.raises(PasswordRejected) as caught:
        directory.reset_password(account, new_password)
    assert caught.value.reason == reason
    assert new_password not in caught.value.detail
    directory.verify_password(account, lab_user.password)  # unchanged


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [("Ab1!", "too_short"), ("alllowercaseletters", "not_complex"), (None, "in_history")],
)
def test_change_rejections(directory, lab, lab_user, new_password, reason):
    account = find(directory, lab, lab_user.sam)
    new_password = new_password or lab_user.password  # the current one: history
    with pytest.raises(PasswordRejected) as caught:
        directory.change_password(account, lab_user.password, new_password)
    assert caught.value.reason == reason
    directory.verify_password(account, lab_user.password)


def test_change_with_the_right_and_a_wrong_old_password(directory, lab, lab_user):
    account = find(directory, lab, lab_user.sam)
    new = lablib.new_password()
    with pytest.raises(PasswordRejected) as caught:
        directory.change_password(account, "Not!The-Old-1", new)
    assert caught.value.reason == "wrong_old_password"
    assert "Not!The-Old-1" not in caught.value.detail and new not in caught.value.detail
    directory.change_password(account, lab_user.password, new)
    directory.verify_password(account, new)
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, lab_user.password)


def test_change_on_a_locked_account(directory, lab, lab_user):
    lablib.lock_by_bad_binds(lab, lab_user.nt_name)
    account = find(directory, lab, lab_user.sam)
    with pytest.raises(AccountLocked):
        directory.change_password(account, lab_user.password, lablib.new_password())


# --- policy ----------------------------------------------------------------------------


def test_password_policy_matches_the_lab(directory, lab):
    policy = directory.password_policy(find(directory, lab, "alice"))
    assert policy.min_length == 7
    assert policy.complexity
    assert policy.history_length == 24
    assert policy.lockout_threshold == lablib.LOCKOUT_THRESHOLD
    assert policy.lockout_duration_seconds == 60
    assert policy.min_age_seconds == 0
    assert policy.max_age_seconds == 42 * 86400
    assert policy.source == "domain"


# --- connections, TLS, failover -------------------------------------------------------


def test_starttls_url(lab):
    ad = ActiveDirectory(lab_directory_settings(lab, urls=[lab.starttls_url]))
    try:
        alice = find(ad, lab, "alice")
        assert alice is not None
        ad.verify_password(alice, lab.passwords["alice"])
    finally:
        ad.close()


def test_a_down_first_dc_is_skipped_quickly_and_remembered(lab):
    ad = ActiveDirectory(lab_directory_settings(lab, urls=[CLOSED_URL, lab.url]))
    try:
        started = time.perf_counter()
        alice = find(ad, lab, "alice")
        assert alice is not None
        ad.verify_password(alice, lab.passwords["alice"])
        assert time.perf_counter() - started < 1.0
        assert ad.endpoints[ad.connection.last_good].url == lab.url
    finally:
        ad.close()


def test_no_dc_reachable(lab):
    ad = ActiveDirectory(lab_directory_settings(lab, urls=[CLOSED_URL, "ldap://127.0.0.1:2"]))
    try:
        with pytest.raises(DirectoryUnavailable) as caught:
            find(ad, lab, "alice")
        assert not isinstance(caught.value, DirectoryTLSError)
        assert CLOSED_URL in caught.value.detail
    finally:
        ad.close()


def test_unknown_ca_is_a_tls_error(lab, tmp_path: Path):
    other_ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if not other_ca.exists():
        pytest.skip("no system CA bundle to use as the wrong CA")
    ad = ActiveDirectory(lab_directory_settings(lab, ca_file=other_ca))
    try:
        with pytest.raises(DirectoryTLSError) as caught:
            find(ad, lab, "alice")
        assert "certificate verify failed" in caught.value.detail
    finally:
        ad.close()


def test_certificate_name_mismatch_is_a_tls_error(lab):
    ad = ActiveDirectory(lab_directory_settings(lab, tls_server_name="dc9.example.invalid"))
    try:
        with pytest.raises(DirectoryTLSError):
            find(ad, lab, "alice")
    finally:
        ad.close()
    # Connecting by IP without naming the certificate fails as well.
    ad = ActiveDirectory(lab_directory_settings(lab, tls_server_name=None))
    try:
        with pytest.raises(DirectoryTLSError):
            find(ad, lab, "alice")
    finally:
        ad.close()


def test_wrong_service_password_then_back_off(lab, lab_user, lab_admin):
    # A throwaway user plays the service account: refused binds count toward
    # its lockout, and svc-kiosk must stay usable for the other tests.
    wrong = "Wrong!Svc-Password-1"
    ad = ActiveDirectory(lab_directory_settings(lab, service_user=lab_user.nt_name, service_password=wrong))
    try:
        with pytest.raises(ServiceAccountError) as caught:
            find(ad, lab, "alice")
        assert "52e" in caught.value.detail
        assert wrong not in caught.value.detail and wrong not in str(caught.value)
        # The next visitor does not cost another refused bind.
        with pytest.raises(ServiceAccountError):
            find(ad, lab, "alice")
        assert bad_password_count(lab_admin, lab_user.dn) == 1
    finally:
        ad.close()


def test_the_service_connection_is_reestablished_after_a_drop(directory, lab):
    assert find(directory, lab, "alice") is not None
    first = directory.connection.service
    first.socket.shutdown(socket.SHUT_RDWR)  # the DC "went away" under us
    assert find(directory, lab, "bob") is not None
    assert directory.connection.service is not first


def test_an_idle_service_connection_is_replaced(lab):
    now = [1000.0]
    ad = ActiveDirectory(lab_directory_settings(lab), clock=lambda: now[0], service_idle_seconds=60)
    try:
        find(ad, lab, "alice")
        first = ad.connection.service
        now[0] += 30
        find(ad, lab, "alice")
        assert ad.connection.service is first
        now[0] += 61
        find(ad, lab, "alice")
        assert ad.connection.service is not first
    finally:
        ad.close()


def test_concurrent_callers_share_the_directory(directory, lab):
    names = ["alice", "bob", "carol", "oscar"] * 4
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int, name: str) -> None:
        try:
            account = find(directory, lab, name)
            directory.verify_password(account, lab.passwords[name])
            results[i] = account.sam
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, n)) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert [results[i] for i in range(len(names))] == names


def test_no_password_is_sent_when_starttls_did_not_encrypt(lab, monkeypatch):
    # Simulate a StartTLS that "succeeded" without wrapping the socket.
    import ldap3

    monkeypatch.setattr(ldap3.Connection, "start_tls", lambda self, read_server_info=True: True)
    binds: list[str] = []
    real_bind = ldap3.Connection.bind
    monkeypatch.setattr(ldap3.Connection, "bind", lambda self, *a, **k: binds.append(self.user) or real_bind(self, *a, **k))
    ad = ActiveDirectory(lab_directory_settings(lab, urls=[lab.starttls_url]))
    try:
        with pytest.raises(InsecureConnection):
            find(ad, lab, "alice")
        assert binds == []
    finally:
        ad.close()


def test_fine_grained_policy_overrides_the_domain_policy(lab, lab_admin, lab_user, caplog):
    pso = f"CN=kiosk-pso-{lab_user.sam},CN=Password Settings Container,CN=System,{lab.base_dn}"
    lab_admin.add(
        pso,
        ["msDS-PasswordSettings"],
        {
            "msDS-PasswordSettingsPrecedence": 10,
            "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
            "msDS-PasswordHistoryLength": 5,
            "msDS-PasswordComplexityEnabled": "FALSE",
            "msDS-MinimumPasswordLength": 12,
            "msDS-MinimumPasswordAge": 0,
            "msDS-MaximumPasswordAge": -864000000000 * 90,
            "msDS-LockoutThreshold": 7,
            "msDS-LockoutObservationWindow": -600000000,
            "msDS-LockoutDuration": -1200000000,
            "msDS-PSOAppliesTo": [lab_user.dn],
        },
    )
    try:
        # PSOs are readable by Domain Admins only, by default.
        as_admin = ActiveDirectory(lab_directory_settings(lab, service_user=lab.admin_user, service_password=lab.admin_password))
        try:
            policy = as_admin.password_policy(find(as_admin, lab, lab_user.sam))
        finally:
            as_admin.close()
        assert (policy.min_length, policy.complexity, policy.history_length) == (12, False, 5)
        assert (policy.lockout_threshold, policy.lockout_duration_seconds) == (7, 120)
        assert policy.max_age_seconds == 90 * 86400
        assert policy.source == pso
        # svc-kiosk sees that a PSO applies but cannot read it: domain policy and a warning.
        as_service = ActiveDirectory(lab_directory_settings(lab))
        try:
            with caplog.at_level("WARNING", logger="kiosk.directory.ad"):
                fallback = as_service.password_policy(find(as_service, lab, lab_user.sam))
        finally:
            as_service.close()
        assert fallback.source == "domain"
        assert "cannot read the fine-grained policy" in caplog.text
    finally:
        lab_admin.delete(pso)
