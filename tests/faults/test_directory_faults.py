"""The directory in trouble, for real, on the Samba AD lab: the DC stopped in the
middle of a visit, a dead first DC, a slow DC behind a delaying TCP proxy, and
a service account whose password is wrong or whose rights are missing.

Each fault: a typed error with plain words for the person, an audit record,
nothing changed in the directory, and the retry works once the fault is gone.
Throwaway users only; svc-kiosk is never given a wrong password (each refused
bind counts toward its lockout, see docs/directory-notes.md).
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

import lab as lablib
from kiosk.backend.audit import read_events
from kiosk.backend.directory.ad import Endpoint
from kiosk.backend.errors import (
    DirectoryUnavailable,
    InsufficientRights,
    ServiceAccountError,
)
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import build_service
from kiosk.check import run_checks
from kiosk.lab import lab_settings_from_env
from kiosk.messages import error_text
from support import fast

ANSWERS = [("birth-city", "Springfield"), ("first-pet", "Snowball"), ("first-school", "Elementary")]
UNREACHABLE = "The directory cannot be reached just now. Please try again later or contact the help desk."


def _settings(lab, workdir: Path, **directory):
    return fast(lab_settings_from_env(lab.env, workdir), directory=directory)


def _enroll(service: SelfService, name: str, password: str) -> None:
    visit = service.begin(name, "tty-faults")
    service.prove_password(visit, password)
    service.enroll(visit, ANSWERS)


def _verified(service: SelfService, name: str):
    visit = service.begin(name, "tty-faults")
    service.challenge(visit)
    service.verify(visit, [a for _, a in ANSWERS])
    return visit


def _errors(workdir: Path) -> list[tuple[str, str]]:
    return [
        (e["event"], e["reason"].split(":")[0])
        for e in read_events(workdir / "audit.jsonl")
        if e["outcome"] == "error"
    ]


def _locked(lab_admin, dn: str) -> bool:
    entry = lablib.read_entry(lab_admin, dn, ["msDS-User-Account-Control-Computed"])
    return bool(int(lablib.first(entry, "msDS-User-Account-Control-Computed", 0)) & 0x10)


# --- the DC goes down in the middle of a visit --------------------------------------


def test_the_dc_stopped_between_verification_and_unlock(lab, lab_admin, lab_user, tmp_path):
    service = build_service(_settings(lab, tmp_path, timeout_seconds=2, connect_timeout_seconds=2))
    _enroll(service, lab_user.sam, lab_user.password)
    lablib.lock_by_bad_binds(lab, lab_user.nt_name, lablib.LOCKOUT_THRESHOLD)
    visit = _verified(service, lab_user.sam)
    assert visit.account.locked

    began = time.monotonic()
    lablib.stop_lab(lab.dir)
    try:
        stopped = time.monotonic() - began
        began = time.monotonic()
        with pytest.raises(DirectoryUnavailable) as failure:
            service.unlock(visit)
        waited = time.monotonic() - began
    finally:
        began = time.monotonic()
        lablib.start_lab(lab.dir)
        started = time.monotonic() - began
    print(f"DC down: stop {stopped:.1f} s, DirectoryUnavailable after {waited:.2f} s, start {started:.1f} s")
    assert waited < 5
    assert error_text(failure.value) == UNREACHABLE
    assert _errors(tmp_path) == [("unlock", "directory_unavailable")]
    assert _locked(lab_admin, lab_user.dn)  # nothing changed

    # The DC is back: the same visit, still verified, finishes on a retry.
    assert service.unlock(visit) == lab_user.nt_name
    assert not _locked(lab_admin, lab_user.dn)
    assert lablib.can_bind(lab, lab_user.nt_name, lab_user.password)
    service.close()


def test_a_dead_first_dc_goes_unnoticed(lab, lab_user, tmp_path):
    dead = "ldaps://127.0.0.1:1"  # nothing listens: connection refused
    service = build_service(_settings(lab, tmp_path, urls=[dead, lab.url]))
    _enroll(service, lab_user.sam, lab_user.password)
    visit = _verified(service, lab_user.upn)
    new_password = "Fail#Over-2026x"
    assert service.reset_password(visit, new_password) == lab_user.nt_name
    assert lablib.can_bind(lab, lab_user.nt_name, new_password)
    assert _errors(tmp_path) == []
    service.close()


# --- a slow DC ---------------------------------------------------------------------------


class SlowProxy:
    """A loopback TCP proxy that holds every chunk from the DC for ``delay`` seconds."""

    def __init__(self, port: int, delay: float) -> None:
        self.delay = delay
        self._target = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self._loop
        ).result(5)
        self.port = self._server.sockets[0].getsockname()[1]
        self.open = 0

    async def _handle(self, client_reader, client_writer) -> None:
        self.open += 1
        try:
            dc_reader, dc_writer = await asyncio.open_connection("127.0.0.1", self._target)
        except OSError:
            client_writer.close()
            self.open -= 1
            return

        async def pipe(reader, writer, slow: bool) -> None:
            try:
                while data := await reader.read(65536):
                    if slow and self.delay:
                        await asyncio.sleep(self.delay)
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        await asyncio.gather(pipe(client_reader, dc_writer, False), pipe(dc_reader, client_writer, True))
        self.open -= 1

    def close(self) -> None:
        async def shut() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()


@pytest.fixture
def slow_proxy(lab):
    proxy = SlowProxy(Endpoint.parse(lab.url).port, delay=0.0)
    yield proxy
    proxy.close()


def test_a_slow_dc_ends_in_a_bounded_wait_and_recovers(lab, lab_user, tmp_path, slow_proxy):
    timeout = 1
    url = f"ldaps://127.0.0.1:{slow_proxy.port}"
    service = build_service(_settings(lab, tmp_path, urls=[url], timeout_seconds=timeout, connect_timeout_seconds=timeout))
    _enroll(service, lab_user.sam, lab_user.password)

    # Slower than the timeout: the wait ends, with plain words and an audit record.
    slow_proxy.delay = 3 * timeout
    began = time.monotonic()
    with pytest.raises(DirectoryUnavailable) as failure:
        service.begin(lab_user.sam, "tty-faults")
    waited = time.monotonic() - began
    print(f"slow DC: {failure.value.code} after {waited:.2f} s with timeout_seconds={timeout}: {failure.value.detail}")
    # Two tries (the dropped service connection is retried once), each bounded by the timeout.
    assert timeout <= waited <= 4 * timeout + 1, waited
    assert failure.value.code == "directory_unavailable"  # slow, not "unsafe": no TLS error
    assert "timed out" in failure.value.detail
    assert error_text(failure.value) == UNREACHABLE
    assert _errors(tmp_path) == [("identify", failure.value.code)]

    # A delay below the timeout: slower, but it works; nothing was left stuck.
    slow_proxy.delay = 0.2
    began = time.monotonic()
    visit = _verified(service, lab_user.sam)
    print(f"DC with 0.2 s delay per reply: verified in {time.monotonic() - began:.2f} s")
    assert visit.verified and visit.account.sam == lab_user.sam
    service.close()


# --- the service account ----------------------------------------------------------------


def test_a_wrong_service_password_is_plain_for_the_person_and_exact_for_the_admin(
    lab, lab_admin, lab_user, tmp_path
):
    # A throwaway account stands in for the service account: its badPwdCount may grow.
    settings = _settings(lab, tmp_path, service_user=lab_user.nt_name, service_password="Wr0ng!svc-pass")
    service = build_service(settings)
    with pytest.raises(ServiceAccountError) as failure:
        service.begin("alice", "tty-faults")
    assert error_text(failure.value) == "This terminal cannot work just now. Please contact the help desk."
    assert "52e" in failure.value.detail
    # The next visitor does not cost another refused bind (back-off): still one.
    with pytest.raises(ServiceAccountError):
        service.begin("bob", "tty-faults")
    entry = lablib.read_entry(lab_admin, lab_user.dn, ["badPwdCount"])
    assert int(lablib.first(entry, "badPwdCount", 0)) == 1
    assert _errors(tmp_path) == [("identify", "service_account"), ("identify", "service_account")]
    service.close()

    results = run_checks(settings)
    refused = [r for r in results if not r.ok]
    assert len(refused) == 1 and "52e" in refused[0].message and lab_user.nt_name in refused[0].message, results
    assert "kiosk_directory__service_password" in refused[0].message


def test_an_expired_service_password_is_named_in_kiosk_check(lab, lab_admin, lab_user, tmp_path):
    lab_admin.modify(lab_user.dn, {"pwdLastSet": [("MODIFY_REPLACE", [0])]})
    settings = _settings(lab, tmp_path, service_user=lab_user.nt_name, service_password=lab_user.password)
    service = build_service(settings)
    with pytest.raises(ServiceAccountError) as failure:
        service.begin("alice", "tty-faults")
    assert error_text(failure.value) == "This terminal cannot work just now. Please contact the help desk."
    service.close()
    refused = [r for r in run_checks(settings) if not r.ok]
    assert len(refused) == 1 and "773" in refused[0].message, refused


def test_missing_rights_are_refused_and_change_nothing(lab, lab_admin, lab_user, tmp_path):
    # The service account is an ordinary user: it can read, but not unlock anyone.
    person_dn, person, password = lablib.create_user(lab, lab_admin, groups=[lab.staff_team_dn])
    try:
        enrolling = build_service(_settings(lab, tmp_path))
        _enroll(enrolling, person, password)
        enrolling.close()
        lablib.lock_by_bad_binds(lab, lab.nt_name(person), lablib.LOCKOUT_THRESHOLD)
        settings = _settings(lab, tmp_path, service_user=lab_user.nt_name, service_password=lab_user.password)
        service = build_service(settings)
        visit = _verified(service, person)
        with pytest.raises(InsufficientRights) as failure:
            service.unlock(visit)
        assert error_text(failure.value) == "This terminal is not allowed to do that. Please contact the help desk."
        assert _errors(tmp_path) == [("unlock", "insufficient_rights")]
        assert _locked(lab_admin, person_dn)
        service.close()
    finally:
        lablib.delete_user(lab_admin, person_dn)
