"""The privileged backend and its clients, for real: ``kiosk backend`` as a
subprocess on a Unix socket in a temporary directory, the demo directory
behind it, and the session's client (``kiosk.client``) in this process or in
a forked child running as another user."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.backend.errors import (
    InvalidCredentials,
    NotAllowed,
    PasswordRejected,
    VerificationFailed,
)
from kiosk.backend.protocol import BackendBusy, BackendUnavailable, VisitHandle
from kiosk.client import connect_helpdesk, connect_kiosk

from backend_support import Backend, as_user, demo_config, local_sections

CAROL_ANSWERS = ["Lyon", "Misty", "Oak Lane"]
ALICE_ANSWERS = ["Paris", "Rex", "Hillside"]
NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def workdir() -> Iterator[Path]:
    # Not under pytest's tmp_path (0700): another uid must reach the socket.
    path = Path(tempfile.mkdtemp(prefix="kiosk-backend-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def backend(workdir: Path) -> Iterator[Backend]:
    running = Backend(demo_config(workdir, session_user=pwd.getpwuid(os.getuid()).pw_name), workdir / "backend.sock")
    running.start()
    yield running
    running.stop()


# --- self-service through the backend ---------------------------------------------------


def test_a_locked_person_unlocks_through_the_backend(backend: Backend):
    service, activation = connect_kiosk(str(backend.socket), "t1")
    assert service.is_demo and service.default_domain == "DEMO"
    assert activation is not None and activation.limit_seconds > 0
    assert service.questionnaire.steps  # the questionnaire crossed whole

    visit = service.begin("carol", "t1")
    assert isinstance(visit, VisitHandle) and visit.reference.startswith("K-")
    questions = service.challenge(visit)
    assert len(questions) == 3 and all(q.text for q in questions)
    service.verify(visit, CAROL_ANSWERS)
    assert service.unlock(visit) == "DEMO\\carol"
    service.end(visit)


def test_a_reset_and_typed_errors_cross_as_the_use_case_raised_them(backend: Backend):
    service, _ = connect_kiosk(str(backend.socket), "t1")
    visit = service.begin("alice", "t1")
    service.challenge(visit)
    with pytest.raises(VerificationFailed):
        service.verify(visit, ["Rome", "Rex", "Hillside"])
    service.end(visit)

    visit = service.begin("alice", "t1")
    service.challenge(visit)
    service.verify(visit, ALICE_ANSWERS)
    rules = service.password_rules(visit)
    assert rules.min_length >= 7
    with pytest.raises(PasswordRejected) as refused:
        service.reset_password(visit, "short")
    assert refused.value.reason in ("too_short", "not_complex")
    assert service.reset_password(visit, "Brand#New-2026x") == "DEMO\\alice"
    service.end(visit)


def test_an_ended_visit_is_gone(backend: Backend):
    service, _ = connect_kiosk(str(backend.socket), "t1")
    visit = service.begin("alice", "t1")
    service.end(visit)
    with pytest.raises(BackendUnavailable):
        service.challenge(visit)


# --- who may connect ------------------------------------------------------------------------


def test_another_user_gets_no_self_service(backend: Backend):
    def kiosk() -> str:
        connect_kiosk(str(backend.socket), "t1")
        return "connected"

    assert as_user(NOBODY.pw_uid, NOBODY.pw_gid, kiosk) == "raised NotAllowed: this user may not use the backend"


def test_the_helpdesk_operator_is_the_peer_not_a_claim(backend: Backend):
    def helpdesk() -> str:
        desk = connect_helpdesk(str(backend.socket), "t1")
        try:
            desk.authorize("whatever")
        except InvalidCredentials:
            return f"operator {desk.operator}, refused"
        return f"operator {desk.operator}, authorized"

    answer = as_user(NOBODY.pw_uid, NOBODY.pw_gid, helpdesk)
    assert answer == "operator nobody, refused"  # no directory account named nobody
    audit = (backend.socket.parent / "audit.jsonl").read_text()
    assert '"helpdesk_login"' in audit and '"nobody"' in audit


def test_the_session_user_gets_no_helpdesk(backend: Backend):
    with pytest.raises(NotAllowed):
        connect_helpdesk(str(backend.socket), "t1")


# --- a backend that goes away ------------------------------------------------------------------


def test_a_backend_killed_mid_visit_is_a_fault_and_the_next_visit_works(backend: Backend):
    service, _ = connect_kiosk(str(backend.socket), "t1")
    visit = service.begin("carol", "t1")
    service.challenge(visit)

    backend.kill()
    with pytest.raises(BackendUnavailable) as fault:
        service.verify(visit, CAROL_ANSWERS)
    assert fault.value.code == "backend_unavailable"
    with pytest.raises(BackendUnavailable):
        service.begin("carol", "t1")  # nobody answers yet

    backend.start()
    with pytest.raises(BackendUnavailable):
        service.verify(visit, CAROL_ANSWERS)  # that visit died with the old backend
    visit = service.begin("carol", "t1")  # the same client connects again
    service.challenge(visit)
    service.verify(visit, CAROL_ANSWERS)
    assert service.unlock(visit) == "DEMO\\carol"


# --- the session's imports ----------------------------------------------------------------------

HEAVY = ("ldap3", "argon2", "sqlite3", "psycopg", "cryptography", "zxcvbn", "pydantic")


def test_a_session_on_the_backend_imports_nothing_heavy(backend: Backend):
    script = textwrap.dedent(f"""
        import sys
        import kiosk.cli
        kiosk.cli.session_without_tls()  # as the session does, before Textual loads
        from kiosk.client import connect_kiosk
        import kiosk.app, kiosk.helpdesk_app
        service, activation = connect_kiosk({str(backend.socket)!r}, "t1")
        visit = service.begin("alice", "t1")
        service.challenge(visit)
        service.verify(visit, {ALICE_ANSWERS!r})
        service.password_rules(visit)
        service.end(visit)
        print(",".join(sorted(m for m in {HEAVY!r} + ("ssl", "kiosk.backend.usecase", "kiosk.backend.wiring")
                              if sys.modules.get(m) is not None)))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = set(filter(None, done.stdout.strip().split(",")))
    assert not loaded & {*HEAVY, "ssl"}, loaded
    assert "kiosk.backend.usecase" not in loaded and "kiosk.backend.wiring" not in loaded


# --- with the Samba AD lab ----------------------------------------------------------------------

LAB_ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]


@pytest.fixture
def lab_backend(lab, workdir: Path) -> Iterator[Backend]:
    env = lab.env
    config = workdir / "kiosk.toml"
    config.write_text(textwrap.dedent(f"""
        [directory]
        urls = ["{env['KIOSK_TEST_LDAP_URL']}"]
        ca_file = "{env['KIOSK_TEST_CA_FILE']}"
        tls_server_name = "{env['KIOSK_TEST_TLS_SERVER_NAME']}"
        service_user = '{env['KIOSK_TEST_SVC_USER']}'
        default_domain = "{env['KIOSK_TEST_NETBIOS_DOMAIN']}"
        [[directory.domains]]
        netbios = "{env['KIOSK_TEST_NETBIOS_DOMAIN']}"
        dns = "{env['KIOSK_TEST_UPN_SUFFIX']}"
        base_dn = "{env['KIOSK_TEST_BASE_DN']}"
        [eligibility]
        allowed_ous = ["{env['KIOSK_TEST_STAFF_OU']}"]
        denied_groups = ["{env['KIOSK_TEST_KIOSK_DENIED_GROUP_DN']}"]
    """) + local_sections(workdir, session_user=pwd.getpwuid(os.getuid()).pw_name), encoding="utf-8")
    running = Backend(config, workdir / "backend.sock",
                      {"KIOSK_DIRECTORY__SERVICE_PASSWORD": env["KIOSK_TEST_SVC_PASSWORD"]})
    running.start()
    yield running
    running.stop()


@pytest.mark.lab
def test_with_ad_a_person_enrolls_unlocks_and_resets_through_the_backend(lab_backend: Backend, lab, lab_user):
    import lab as lablib

    service, _ = connect_kiosk(str(lab_backend.socket), "t1")
    visit = service.begin(lab_user.sam, "t1")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, LAB_ANSWERS)
    service.end(visit)

    lablib.lock_by_bad_binds(lab, lab_user.nt_name, lablib.LOCKOUT_THRESHOLD)
    visit = service.begin(lab_user.upn, "t1")
    service.challenge(visit)
    service.verify(visit, [answer for _, answer in LAB_ANSWERS])
    assert service.unlock(visit) == lab_user.nt_name
    service.end(visit)

    visit = service.begin(lab_user.nt_name, "t1")
    service.challenge(visit)
    service.verify(visit, [answer for _, answer in LAB_ANSWERS])
    new_password = "Brand#New-2026x"
    service.reset_password(visit, new_password)
    service.end(visit)
    assert lablib.can_bind(lab, lab_user.nt_name, new_password)
    assert not lablib.can_bind(lab, lab_user.nt_name, lab_user.password)


@pytest.mark.lab
def test_with_ad_a_backend_killed_mid_visit_is_a_fault_and_the_next_visit_works(lab_backend: Backend, lab_user):
    service, _ = connect_kiosk(str(lab_backend.socket), "t1")
    visit = service.begin(lab_user.sam, "t1")
    lab_backend.kill()
    with pytest.raises(BackendUnavailable):
        service.prove_password(visit, lab_user.password)
    lab_backend.start()
    visit = service.begin(lab_user.sam, "t1")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, LAB_ANSWERS)
    service.end(visit)


# --- systemd's socket activation -----------------------------------------------------------------


def test_the_backend_serves_on_the_socket_systemd_passes(workdir: Path):
    from kiosk.unix_socket import listening_socket

    config = demo_config(workdir, session_user=pwd.getpwuid(os.getuid()).pw_name)
    path = workdir / "activated.sock"
    listener = listening_socket(path, mode=0o666)  # as systemd's kiosk-backend.socket holds it
    assert oct(path.stat().st_mode & 0o777) == "0o666"
    log = (workdir / "backend.log").open("ab")
    process = subprocess.Popen(
        ["sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh",
         sys.executable, "-m", "kiosk", "--config", str(config), "backend"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        pass_fds=(3,), preexec_fn=lambda: os.dup2(listener.fileno(), 3),
    )
    try:
        service, _ = connect_kiosk(str(path), "t1")  # waits in the backlog while the backend starts
        visit = service.begin("carol", "t1")
        service.challenge(visit)
        service.verify(visit, CAROL_ANSWERS)
        assert service.unlock(visit) == "DEMO\\carol"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        listener.close()
        log.close()


def test_the_shipped_units_name_the_backend_user_and_the_socket():
    units = Path(__file__).parents[2] / "deploy" / "systemd"
    socket_unit = (units / "kiosk-backend.socket").read_text()
    service_unit = (units / "kiosk-backend.service").read_text()
    assert "ListenStream=/run/kiosk/backend.sock" in socket_unit and "SocketMode=0666" in socket_unit
    assert "User=kiosk-backend" in service_unit and "kiosk backend" in service_unit
    for limit in ("MemoryMax=", "TasksMax=", "NoNewPrivileges=yes", "ProtectSystem=strict"):
        assert limit in service_unit


def test_past_the_session_cap_a_person_is_told_to_try_again_later(workdir: Path):
    config = demo_config(workdir, session_user=pwd.getpwuid(os.getuid()).pw_name, extra="max_sessions = 1")
    running = Backend(config, workdir / "backend.sock")
    running.start()
    try:
        first, _ = connect_kiosk(str(running.socket), "t1")
        first.begin("alice", "t1")
        with pytest.raises(BackendBusy) as busy:
            connect_kiosk(str(running.socket), "t2")
        from kiosk.messages import error_text, text

        assert error_text(busy.value) == text("error.backend_busy")
        first._connection.close()  # that session ended: its place is free once the backend saw it go
        deadline = time.monotonic() + 10
        while True:
            try:
                second, _ = connect_kiosk(str(running.socket), "t2")
                break
            except BackendBusy:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        second.begin("alice", "t2")
    finally:
        running.stop()


@pytest.mark.lab
def test_with_ad_many_sessions_at_once_share_one_backend(lab_backend: Backend, lab_user):
    """Sessions on their own connections at the same moment: the directory
    adapter, the store and the verification slots are shared safely."""
    from concurrent.futures import ThreadPoolExecutor

    service, _ = connect_kiosk(str(lab_backend.socket), "t0")
    visit = service.begin(lab_user.sam, "t0")
    service.prove_password(visit, lab_user.password)
    service.enroll(visit, LAB_ANSWERS)
    service.end(visit)

    def one_visit(index: int) -> str:
        session, _ = connect_kiosk(str(lab_backend.socket), f"t{index}")
        visit = session.begin(lab_user.upn if index % 2 else lab_user.sam, f"t{index}")
        session.challenge(visit)
        session.verify(visit, [answer for _, answer in LAB_ANSWERS])
        rules = session.password_rules(visit)
        session.end(visit)
        return f"{visit.reference[:2]} {rules.min_length >= 7}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(one_visit, range(8))) == ["K- True"] * 8
