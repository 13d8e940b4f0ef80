"""The kiosk over a real OpenSSH server on loopback (deploy/sshd_config.d/kiosk.conf).

Authentication: the shared local account ``kiosk`` has an EMPTY password
(``passwd -d kiosk``) and ``PermitEmptyPasswords yes`` in its Match block, as
the README deploys it; sshd accepts it through the "none" method, so no key
and no prompt are involved.

The sshd under test is our own (``sshd -D -f <tmp config>`` on 127.0.0.1 and a
free port, its own host key); its config Includes a copy of the project's
kiosk.conf in which only the ForceCommand path is changed, to run this
checkout's launcher with ``KIOSK_PYTHON`` and ``KIOSK_CONFIG`` (a demo config).

Every sshd here (``-t``, ``-T`` and the daemon) runs with a new, empty ``/run``
(``in_fresh_run``) in which the test makes ``/run/sshd`` itself: the tests pass
on a machine where sshd was installed and never started, and do not touch the
host's ``/run``.

Needs root (a user, a privileged daemon) and openssh-server (scripts/bootstrap
--test installs it); otherwise the tests skip, saying why.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import LAUNCHER, PYTHON, REPO, in_fresh_run, write_demo_config
from tmuxdriver import TmuxDriver, descendants, process_state, tmux_available

pytestmark = pytest.mark.e2e

SSHD = "/usr/sbin/sshd"
KIOSK_CONF = REPO / "deploy" / "sshd_config.d" / "kiosk.conf"
USER = "kiosk"
WELCOME = "What do you need?"
REFUSAL = "This service needs an interactive terminal (ssh -t)."


def _need_root_and_sshd() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: starts sshd and creates the local user 'kiosk'")
    if not os.access(SSHD, os.X_OK):
        pytest.fail(f"{SSHD} missing: run scripts/bootstrap --test (installs openssh-server)", pytrace=False)


def test_sshd_t_on_a_machine_where_sshd_never_started(tmp_path):
    """What a fresh Debian machine looks like (openssh-server installed, its
    service off): no /run/sshd, and sshd -t refuses to run. The tests' private,
    empty /run reproduces that whatever the host's /run holds, and the tests
    pass only because they make the directory there themselves."""
    _need_root_and_sshd()
    config = tmp_path / "sshd_config"
    config.write_text(f"HostKey {_host_key(tmp_path)}\nInclude {KIOSK_CONF}\n")
    bare = subprocess.run(
        in_fresh_run([SSHD, "-t", "-f", str(config)], sshd_dir=False), capture_output=True, text=True, timeout=20
    )
    assert bare.returncode != 0 and "Missing privilege separation directory: /run/sshd" in bare.stderr, bare
    made = subprocess.run(in_fresh_run([SSHD, "-t", "-f", str(config)]), capture_output=True, text=True, timeout=20)
    assert made.returncode == 0, made.stderr


def test_the_shipped_kiosk_conf_passes_sshd_t(tmp_path, kiosk_user):
    """``-T -C user=kiosk`` evaluates the Match blocks; it needs the user to exist."""
    key = _host_key(tmp_path)
    config = tmp_path / "sshd_config"
    config.write_text(f"HostKey {key}\nUsePAM yes\nInclude {KIOSK_CONF}\n")
    checked = subprocess.run(
        in_fresh_run([SSHD, "-t", "-f", str(config)]), capture_output=True, text=True, timeout=20
    )
    assert checked.returncode == 0, checked.stderr

    effective = subprocess.run(
        in_fresh_run([SSHD, "-T", "-f", str(config), "-C", f"user={USER},host=client,addr=127.0.0.1"]),
        capture_output=True, text=True, timeout=20,
    )
    assert effective.returncode == 0, effective.stderr
    values = dict(line.split(" ", 1) for line in effective.stdout.splitlines() if " " in line)
    assert values["forcecommand"] == "exec /usr/local/libexec/kiosk-launcher"
    assert values["permittty"] == "yes"
    assert values["permitemptypasswords"] == "yes"
    assert values["disableforwarding"] == "yes"
    assert values["allowtcpforwarding"] == "no"
    assert values["x11forwarding"] == "no"
    assert values["permituserrc"] == "no"
    assert values["maxsessions"] == "1"
    assert values["unusedconnectiontimeout"] == "10", "a connection without a session (ssh -N) must not stay open"

    helpdesk = subprocess.run(
        in_fresh_run([SSHD, "-T", "-f", str(config), "-C", "user=someone,host=client,addr=127.0.0.1"]),
        capture_output=True, text=True, timeout=20,
    )
    assert helpdesk.returncode == 0, helpdesk.stderr
    assert "unusedconnectiontimeout none" in helpdesk.stdout, "the snippet changes only its own Match blocks"


# --- a live sshd ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kiosk_user():
    _need_root_and_sshd()
    try:
        pwd.getpwnam(USER)
    except KeyError:
        _run(["useradd", "--create-home", "--shell", "/bin/sh", USER])
    _run(["passwd", "-d", USER])
    return pwd.getpwnam(USER)


@pytest.fixture(scope="module")
def kiosk_python(kiosk_user):
    """An interpreter the kiosk user can run. .venv's own one is fine when its base
    Python is readable by all; when it lives under a private home (pyenv in /root, as
    on the lead's machine) a throwaway venv on Debian's /usr/bin/python3 (also 3.11)
    adds .venv's site-packages instead."""
    if _as_user([PYTHON, "-I", "-c", "import kiosk.app"]).returncode == 0:
        yield PYTHON
        return
    site = next((REPO / ".venv" / "lib").glob("python3.*/site-packages"))
    system = shutil.which("python3", path="/usr/bin:/bin")
    if system is None:
        pytest.skip("the kiosk user cannot run .venv/bin/python and there is no /usr/bin/python3")
    venv = Path(tempfile.mkdtemp(prefix="kiosk-e2e-venv-"))
    try:
        _run([system, "-m", "venv", "--without-pip", str(venv)])
        target = next(venv.glob("lib/python3.*/site-packages"))
        (target / "kiosk-e2e.pth").write_text(f"import site; site.addsitedir({str(site)!r})\n")
        os.chmod(venv, 0o755)
        python = str(venv / "bin" / "python")
        check = _as_user([python, "-I", "-c", "import kiosk.app"])
        if check.returncode != 0:
            pytest.skip(f"no Python the kiosk user can run kiosk with: {check.stderr.strip()[-300:]}")
        yield python
    finally:
        shutil.rmtree(venv, ignore_errors=True)


@pytest.fixture(scope="module")
def sshd(kiosk_user, kiosk_python):
    """Our sshd on 127.0.0.1:<free port>; yields (port, pid). Killed afterwards."""
    work = Path(tempfile.mkdtemp(prefix="kiosk-e2e-sshd-"))
    os.chmod(work, 0o755)
    data = work / "kiosk"  # the demo's store and logs, written by the kiosk user
    data.mkdir()
    os.chown(data, kiosk_user.pw_uid, kiosk_user.pw_gid)
    config = write_demo_config(data)
    os.chown(config, kiosk_user.pw_uid, kiosk_user.pw_gid)
    forced = f"/usr/bin/env KIOSK_PYTHON={kiosk_python} KIOSK_CONFIG={config} {LAUNCHER}"
    conf = KIOSK_CONF.read_text()
    ours = conf.replace("ForceCommand exec /usr/local/libexec/kiosk-launcher\n", f"ForceCommand exec {forced}\n", 1)
    assert ours != conf, "kiosk.conf no longer has the ForceCommand line this test rewrites"
    (work / "kiosk.conf").write_text(ours)
    port = _free_port()
    (work / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {_host_key(work)}\nPidFile {work / 'sshd.pid'}\n"
        "UsePAM yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication no\nPermitRootLogin no\nAllowUsers kiosk\nLogLevel VERBOSE\n"
        f"Include {work / 'kiosk.conf'}\n"
    )
    log = (work / "sshd.log").open("w")
    daemon = subprocess.Popen(  # unshare and sh exec: daemon.pid is sshd's
        in_fresh_run([SSHD, "-D", "-e", "-f", str(work / "sshd_config")]), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_port(port, daemon, work / "sshd.log")
        yield port, daemon.pid, work
    finally:
        for pid in descendants(daemon.pid):
            _kill(pid)
        daemon.terminate()
        try:
            daemon.wait(5)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait(5)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


def ssh_argv(port: int, *extra: str) -> list[str]:
    return [
        "ssh", "-F", "/dev/null", "-p", str(port),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
        *extra, f"{USER}@127.0.0.1",
    ]


def kiosk_processes(sshd_pid: int) -> list[int]:
    return [pid for pid in descendants(sshd_pid) if _comm(pid).startswith("python")]


def test_ssh_tt_gets_the_kiosk_and_a_vanished_client_ends_it(sshd):
    if not tmux_available():
        pytest.skip("tmux is not installed")
    port, sshd_pid, _ = sshd
    with TmuxDriver() as term:
        started = time.monotonic()
        term.start(ssh_argv(port, "-tt"))
        term.wait_for(WELCOME, timeout=20)
        first_frame = time.monotonic() - started
        kiosk = _wait(lambda: kiosk_processes(sshd_pid), "the kiosk process under sshd")
        assert pwd.getpwuid(os.stat(f"/proc/{kiosk[0]}").st_uid).pw_name == USER
        environ = Path(f"/proc/{kiosk[0]}/environ").read_bytes().split(b"\0")
        assert not any(e.startswith((b"TEXTUAL", b"PYTHON", b"SSH_ORIGINAL_COMMAND")) for e in environ)

        for key in ("C-c", "C-\\", "C-z", "C-q", "C-p"):
            term.keys(key)
        time.sleep(0.3)
        assert term.alive() and WELCOME in term.screen()

        os.kill(term.pid, signal.SIGKILL)  # the client vanishes; sshd hangs up the pty
        _wait(lambda: all(process_state(pid) in (None, "Z") for pid in kiosk), "the kiosk to exit", 10)
    print(f"first frame over ssh -tt: {first_frame:.2f} s")


def test_a_given_command_is_ignored(sshd):
    if not tmux_available():
        pytest.skip("tmux is not installed")
    port, sshd_pid, _ = sshd
    with TmuxDriver() as term:
        term.start([*ssh_argv(port, "-tt"), "echo PWNED-$((6*7)); id; exec sh"])
        screen = term.wait_for(WELCOME, timeout=20)
        assert "PWNED" not in screen and "uid=" not in screen
        term.signal(signal.SIGHUP)
    _wait(lambda: not kiosk_processes(sshd_pid), "the kiosk to exit", 10)


@pytest.mark.parametrize("command", [[], ["id; cat /etc/shadow"]], ids=["no-command", "with-command"])
def test_ssh_without_a_terminal_is_refused_by_the_launcher(sshd, command):
    port, _, _ = sshd
    done = subprocess.run(
        [*ssh_argv(port, "-T"), *command], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 1, (done.returncode, done.stdout, done.stderr)
    assert REFUSAL in done.stderr
    assert "uid=" not in done.stdout and "root:" not in done.stdout


def test_port_forwarding_is_refused(sshd):
    """``ssh -N -L`` opens no session (so no ForceCommand); the forward itself is refused."""
    port, _, work = sshd
    local = _free_port()
    client = subprocess.Popen(
        [*ssh_argv(port, "-N", "-L", f"{local}:127.0.0.1:{port}")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        _wait(lambda: _listening(local) or client.poll() is not None, "the client's local forward", 10)
        with socket.create_connection(("127.0.0.1", local), timeout=5) as through:
            through.settimeout(5)
            try:
                got = through.recv(64)
            except (ConnectionResetError, TimeoutError):
                got = b""
        assert not got.startswith(b"SSH-"), "reached sshd's port through the forward"
        _wait(lambda: "refused local port forward" in (work / "sshd.log").read_text(), "sshd's refusal", 5)
    finally:
        client.terminate()
        try:
            client.wait(5)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait(5)


def test_a_connection_that_opens_no_session_is_closed(sshd):
    """``ssh -N`` authenticates and asks for nothing: no session, so no kiosk.
    UnusedConnectionTimeout (10 s in the snippet) ends it instead of for ever."""
    port, _, work = sshd
    client = subprocess.Popen(
        ssh_argv(port, "-N"), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        client.wait(timeout=90)
    except subprocess.TimeoutExpired:
        client.kill()
        client.wait(5)
        raise AssertionError("ssh -N is still connected after 90 s: UnusedConnectionTimeout did not apply") from None
    assert client.returncode == 255, client.stderr.read()
    _wait(lambda: "terminating inactive connection from user kiosk" in (work / "sshd.log").read_text(),
          "sshd's reason in its log", 10)


# --- helpers ----------------------------------------------------------------------------------


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.strip()}")


def _as_user(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", USER, "--", *argv], capture_output=True, text=True, timeout=60, cwd="/"
    )


def _host_key(directory: Path) -> Path:
    key = directory / "host_ed25519"
    if not key.exists():
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)])
    return key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_port(port: int, daemon: subprocess.Popen, log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"sshd exited {daemon.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"sshd not listening on {port} after {timeout}s: {log.read_text()[-2000:]}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait(probe, what: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.05)


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
