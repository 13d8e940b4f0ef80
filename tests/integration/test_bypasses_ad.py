"""The ways around the kiosk's own protections (issue 14), where Active
Directory decides: against the Samba AD lab, as svc-kiosk.

1. a temporary password (Samba's 773 bind) is no proof for enrollment
3. only a new account (pwdLastSet=0) with an issued code activates
7. a privileged account's password is never tried: no bind, no badPwdCount
12. an account disabled after verification is not reset
18. the helpdesk's temporary password must be changed at the first logon
"""

from __future__ import annotations

import secrets

import pytest

from kiosk.backend.errors import InvalidCredentials, NotAllowed, PasswordMustChange, VerificationFailed
from kiosk.backend.model import Identity
from kiosk.backend.wiring import build_activation, build_helpdesk, build_service
from kiosk.lab import lab_settings_from_env
from support import fast

try:
    import lab as lablib
except ImportError:  # tests/ became a package
    from tests import lab as lablib

pytestmark = pytest.mark.lab

ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]


@pytest.fixture
def settings(lab, tmp_path):
    return fast(lab_settings_from_env(lab.env, tmp_path), features={"activate": True})


@pytest.fixture
def service(settings):
    service = build_service(settings)
    yield service
    service.close()


def bad_password_count(lab_admin, dn) -> int:
    return int(lablib.first(lablib.read_entry(lab_admin, dn), "badPwdCount", 0) or 0)


def test_a_temporary_password_cannot_enroll_answers(service, lab, lab_admin, lab_user):
    temporary = lablib.new_password()
    lab_admin.extend.microsoft.modify_password(lab_user.dn, temporary)
    lab_admin.modify(lab_user.dn, {"pwdLastSet": [("MODIFY_REPLACE", [0])]})
    visit = service.begin(lab_user.sam, "tty-test")
    with pytest.raises(PasswordMustChange):
        service.prove_password(visit, temporary)
    with pytest.raises(NotAllowed):
        service.enroll(visit, ANSWERS)
    account = service.backend.directory.refresh(visit.account)
    assert service.backend.store.get(account.guid) is None


def test_a_privileged_accounts_password_is_never_tried(service, lab, lab_admin):
    dn, sam, password = lablib.create_user(lab, lab_admin, attributes={"adminCount": 1})  # privileged
    try:
        outcomes = []
        for typed in (password, "Wrong#Guess-1"):
            visit = service.begin(sam, "tty-test")
            with pytest.raises(InvalidCredentials) as error:
                service.prove_password(visit, typed)
            outcomes.append((type(error.value), str(error.value)))
        assert outcomes[0] == outcomes[1]
        assert bad_password_count(lab_admin, dn) == 0  # no bind was made
        assert lablib.first(lablib.read_entry(lab_admin, dn), "lastLogonTimestamp") is None
    finally:
        lablib.delete_user(lab_admin, dn)


def test_an_account_disabled_after_verification_is_not_reset(service, lab, lab_admin, lab_user):
    visit = service.begin(lab_user.sam, "tty-test")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, ANSWERS)
    visit = service.begin(lab_user.sam, "tty-test")
    service.challenge(visit)
    service.verify(visit, [answer for _, answer in ANSWERS])
    lab_admin.modify(lab_user.dn, {"userAccountControl": [("MODIFY_REPLACE", [514])]})
    with pytest.raises(NotAllowed):
        service.reset_password(visit, lablib.new_password())
    lab_admin.modify(lab_user.dn, {"userAccountControl": [("MODIFY_REPLACE", [512])]})
    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)  # unchanged


def test_the_helpdesk_temporary_password_must_be_changed(settings, lab, lab_user):
    settings = fast(settings, helpdesk={"require_operator_password": False, "require_verification": False})
    desk = build_helpdesk(settings, operator=lab_user.sam, terminal="ssh:test")
    try:
        desk.authorize(None)
        account = desk.search(lab_user.sam)[0]
        temporary = desk.reset(account)
        current = desk.backend.directory.refresh(account)
        assert current.must_change_password
        ok, result = lablib.try_bind(lab, lab_user.nt_name, temporary)
        assert not ok and "773" in str(result.get("message", ""))
    finally:
        desk.close()


def test_only_a_new_account_with_an_issued_code_activates(settings, lab, lab_admin):
    activation = build_activation(settings)
    created = []
    try:
        # Never logged on, but a password was set that someone may know: not claimable.
        dn, sam, _ = lablib.create_user(lab, lab_admin, name=f"nc-{secrets.token_hex(4)}")
        created.append(dn)
        account = activation.backend.directory.find_account(Identity(sam, lab.netbios, sam=sam))
        with pytest.raises(NotAllowed):
            activation.issue_code(account, "lab")
        # pwdLastSet=0: claimable, with the code only.
        dn, sam, _ = lablib.create_user(lab, lab_admin, name=f"nc-{secrets.token_hex(4)}", attributes={"pwdLastSet": 0})
        created.append(dn)
        account = activation.backend.directory.find_account(Identity(sam, lab.netbios, sam=sam))
        code, _ = activation.issue_code(account, "lab")
        visit = activation.begin(sam, "tty-test")
        assert activation.proof_labels(visit) == ("Activation code",)
        with pytest.raises(VerificationFailed):
            activation.prove(visit, ["ABCD-EFGH-JKLM-NPQR"])
        activation.prove(visit, [code])
        new_password = lablib.new_password()
        activation.complete(visit, ANSWERS, new_password)
        assert lablib.can_bind(lab, lab.nt_name(sam), new_password)
        with pytest.raises(VerificationFailed):  # used up
            activation.prove(activation.begin(sam, "tty-test"), [code])
    finally:
        activation.close()
        for dn in created:
            lablib.delete_user(lab_admin, dn)
