"""scripts/install on this machine, into a temporary prefix, then the kiosk and
the helpdesk through a real sshd using what it installed.

The install runs as on a fresh machine: in a new, empty ``/run`` (no
``/run/sshd``: sshd installed, never started), with ``--demo`` so no AD is
needed, and every path it writes under one temporary directory (prefix,
config, state, logs, launcher, sshd snippet, systemd unit). The account
``kiosk`` and the groups ``kiosk-helpdesk`` and ``kiosk`` are the system's (the
install is idempotent, so they may stay); the helpdesk operator is a throwaway
account, removed afterwards. Then an sshd of our own on a loopback port
includes the installed snippet unchanged: ``ssh -tt kiosk@127.0.0.1`` reaches
the kiosk's first screen, and the operator (key login) the helpdesk's.

Needs root, openssh-server and tmux (scripts/bootstrap --test), and the
network or a package index for the venv's packages.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO, in_fresh_run
from test_sshd import SSHD, WELCOME, _comm, _free_port, _host_key, _kill, _wait, _wait_port, kiosk_processes
from tmuxdriver import TmuxDriver, descendants, tmux_available

pytestmark = pytest.mark.e2e

INSTALL = REPO / "scripts" / "install"
OPERATOR = "kiosk-e2e-operator"
HELPDESK_FIRST_SCREEN = "Helpdesk sign-in"
#: A held key repeats about 30 times a second.
REPEAT = 1 / 30


def _need_root_sshd_tmux() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: scripts/install creates accounts and system files")
    if not os.access(SSHD, os.X_OK):
        pytest.fail(f"{SSHD} missing: run scripts/bootstrap --test (installs openssh-server)", pytrace=False)
    if not tmux_available():
        pytest.skip("tmux is not installed")


def _install(root: Path) -> subprocess.CompletedProcess[str]:
    argv = [
        str(INSTALL), "--demo", "--helpdesk", OPERATOR,
        "--prefix", str(root / "opt" / "kiosk"),
        "--config-dir", str(root / "etc" / "kiosk"),
        "--state-dir", str(root / "var" / "lib" / "kiosk"),
        "--log-dir", str(root / "var" / "log" / "kiosk"),
        "--launcher", str(root / "libexec" / "kiosk-launcher"),
        "--sshd-dir", str(root / "etc" / "ssh" / "sshd_config.d"),
        "--systemd-dir", str(root / "etc" / "systemd" / "system"),
    ]
    # No /run/sshd in there: the install must make what its sshd -t needs.
    return subprocess.run(in_fresh_run(argv, sshd_dir=False), capture_output=True, text=True, timeout=900, cwd="/")


@pytest.fixture(scope="module")
def installed():
    """(root, first run, second run): scripts/install run twice into a temporary root."""
    _need_root_sshd_tmux()
    root = Path(tempfile.mkdtemp(prefix="kiosk-e2e-install-"))
    os.chmod(root, 0o755)  # the kiosk account reaches its files through it
    made_operator = False
    try:
        try:
            pwd.getpwnam(OPERATOR)
        except KeyError:
            subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", OPERATOR], check=True, timeout=60)
            made_operator = True
        first = _install(root)
        assert first.returncode == 0, first.stderr[-4000:]
        second = _install(root)
        assert second.returncode == 0, second.stderr[-4000:]
        yield root, first, second
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if made_operator:
            subprocess.run(["userdel", "--remove", OPERATOR], capture_output=True, timeout=60)


def test_install_twice_changes_nothing_the_second_time(installed):
    root, first, second = installed
    assert "install: done:" in first.stderr, first.stderr[-3000:]
    assert second.stderr.strip().splitlines() == ["install: nothing to change"], second.stderr

    def mode(path: Path) -> tuple[str, str, str]:
        st = path.stat()
        return oct(stat.S_IMODE(st.st_mode)), pwd.getpwuid(st.st_uid).pw_name, _group(st.st_gid)

    etc = root / "etc" / "kiosk"
    assert mode(etc) == ("0o750", "root", "kiosk")
    assert mode(etc / "secrets") == ("0o750", "root", "kiosk")
    assert mode(etc / "secrets" / "kiosk_directory__service_password") == ("0o640", "root", "kiosk")
    assert mode(etc / "secrets" / "kiosk_answer_pepper") == ("0o640", "root", "kiosk")
    assert len((etc / "secrets" / "kiosk_answer_pepper").read_bytes()) == 32
    assert mode(etc / "kiosk.toml") == ("0o640", "root", "kiosk")
    assert mode(root / "var" / "lib" / "kiosk") == ("0o2770", "kiosk", "kiosk")
    assert mode(root / "var" / "log" / "kiosk") == ("0o2770", "kiosk", "kiosk")
    for shared in ("var/lib/kiosk/kiosk.db", "var/log/kiosk/audit.jsonl", "var/log/kiosk/kiosk.log"):
        assert mode(root / shared) == ("0o660", "kiosk", "kiosk"), "kiosk and operators share it"
    launcher = root / "libexec" / "kiosk-launcher"
    assert mode(launcher) == ("0o755", "root", "root")
    text = launcher.read_text()
    assert text.splitlines()[1] == "trap '' INT QUIT TSTP"
    assert f'KIOSK_PYTHON="${{KIOSK_PYTHON:-{root}/opt/kiosk/.venv/bin/python}}"' in text
    assert f'KIOSK_SECRETS_DIR="${{KIOSK_SECRETS_DIR:-{etc}/secrets}}"' in text
    assert "home = /usr/bin\n" in (root / "opt" / "kiosk" / ".venv" / "pyvenv.cfg").read_text()
    unit = (root / "etc" / "systemd" / "system" / "kiosk@.service").read_text()
    assert f"ExecStart={launcher}\n" in unit
    assert f"ReadWritePaths={root}/var/lib/kiosk {root}/var/log/kiosk\n" in unit

    kiosk = pwd.getpwnam("kiosk")
    assert kiosk.pw_shell == "/bin/sh"
    status = subprocess.run(["passwd", "-S", "kiosk"], capture_output=True, text=True, timeout=20).stdout.split()
    assert status[1] == "NP", "the kiosk account has an empty password"
    groups = subprocess.run(["id", "-nG", OPERATOR], capture_output=True, text=True, timeout=20).stdout.split()
    assert {"kiosk-helpdesk", "kiosk"} <= set(groups)


@pytest.fixture(scope="module")
def sshd(installed):
    """Our sshd on 127.0.0.1 with the installed snippet, unchanged; yields (port, pid, key)."""
    root, _, _ = installed
    work = Path(tempfile.mkdtemp(prefix="kiosk-e2e-install-sshd-"))
    os.chmod(work, 0o755)
    keys = work / "authorized"
    keys.mkdir(mode=0o755)
    client_key = work / "operator_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client_key)], check=True, timeout=60)
    shutil.copy(work / "operator_ed25519.pub", keys / OPERATOR)
    os.chmod(keys / OPERATOR, 0o644)
    port = _free_port()
    snippet = root / "etc" / "ssh" / "sshd_config.d" / "kiosk.conf"
    (work / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {_host_key(work)}\nPidFile {work / 'sshd.pid'}\n"
        "UsePAM yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n"
        "StrictModes no\n"  # the operator's key sits under /tmp (world-writable)
        f"PubkeyAuthentication yes\nAuthorizedKeysFile {keys}/%u\n"
        f"PermitRootLogin no\nAllowUsers kiosk {OPERATOR}\nLogLevel VERBOSE\n"
        "PrintMotd no\nPrintLastLog no\n"  # as Debian's sshd_config (pam_motd shows the motd)
        f"Include {snippet}\n"
    )
    log = (work / "sshd.log").open("w")
    daemon = subprocess.Popen(
        in_fresh_run([SSHD, "-D", "-e", "-f", str(work / "sshd_config")]), stdout=log, stderr=subprocess.STDOUT
    )
    try:
        _wait_port(port, daemon, work / "sshd.log")
        yield port, daemon.pid, client_key, work
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


def ssh_argv(port: int, user: str, *extra: str) -> list[str]:
    return [
        "ssh", "-F", "/dev/null", "-p", str(port), "-tt",
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        *extra, f"{user}@127.0.0.1",
    ]


def test_the_installed_kiosk_over_ssh(installed, sshd):
    root, _, _ = installed
    port, sshd_pid, _, _ = sshd
    with TmuxDriver() as term:
        term.start(ssh_argv(port, "kiosk"))
        screen = term.wait_for(WELCOME, timeout=60)
        assert "DEMO" in screen
        kiosk = _wait(lambda: kiosk_processes(sshd_pid), "the kiosk process under sshd")
        assert pwd.getpwuid(os.stat(f"/proc/{kiosk[0]}").st_uid).pw_name == "kiosk"
        assert os.readlink(f"/proc/{kiosk[0]}/exe").startswith("/usr/bin/python3"), "the venv is on Debian's Python"
        argv = Path(f"/proc/{kiosk[0]}/cmdline").read_bytes().split(b"\0")
        assert argv[0] == str(root / "opt" / "kiosk" / ".venv" / "bin" / "python").encode()
        term.signal(signal.SIGHUP)
    _wait(lambda: not kiosk_processes(sshd_pid), "the kiosk to exit", 20)


def test_the_installed_helpdesk_over_ssh_for_a_member_of_kiosk_helpdesk(installed, sshd):
    port, sshd_pid, client_key, _ = sshd
    with TmuxDriver() as term:
        term.start(ssh_argv(port, OPERATOR, "-i", str(client_key), "-o", "IdentitiesOnly=yes"))
        screen = term.wait_for(HELPDESK_FIRST_SCREEN, timeout=60)
        assert f"You are connected as {OPERATOR}" in screen
        helpdesk = _wait(lambda: kiosk_processes(sshd_pid), "the helpdesk process under sshd")
        assert pwd.getpwuid(os.stat(f"/proc/{helpdesk[0]}").st_uid).pw_name == OPERATOR
        assert "Traceback" not in term.scrollback()
        term.signal(signal.SIGHUP)
    _wait(lambda: not kiosk_processes(sshd_pid), "the helpdesk to exit", 20)


def test_keys_held_while_connecting_leave_the_installed_kiosk_running(installed, sshd):
    """Ctrl+C and Ctrl+\\ held while a session starts, over the installed sshd
    snippet and launcher. Two windows, told apart by where the keys start:

    - From the moment ssh has the terminal in raw mode (so the keys travel to
      the server): nothing but the kiosk ever reaches the screen. Such a
      session may end before any code of ours runs: sshd buffers what arrives
      before the session's child exists and writes it into the new terminal
      just after forking it, while that child is still sshd (strace: killed
      by SIGINT before its execve). The person connects again; on a loaded
      machine that is most tries, so they are not counted (CI saw 0 of 10).
    - From the moment the launcher runs: the sessions come up (all but a rare
      one, said below). Without the trap on its first line, Python's start
      (before the kiosk ignores the keys itself) is killed or prints a
      KeyboardInterrupt: none does."""
    root, _, _ = installed
    port, sshd_pid, _, work = sshd
    held = itertools.cycle(("C-c", "C-\\"))

    def hold_until_welcome(term: TmuxDriver) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and term.alive() and WELCOME not in term.screen():
            term.keys(next(held))
            time.sleep(REPEAT)
        for _ in range(20):  # and after: the kiosk's own lockdown holds
            if not term.alive():
                break
            term.keys("C-c", "C-\\")
        time.sleep(0.3)
        shown = term.scrollback()
        assert "Traceback" not in shown and "KeyboardInterrupt" not in shown, shown
        up = term.alive() and WELCOME in term.screen() and bool(kiosk_processes(sshd_pid))
        if term.alive():
            term.signal(signal.SIGHUP)
        return up

    from_raw_mode = 0
    for _ in range(3):
        with TmuxDriver() as term:
            term.start(ssh_argv(port, "kiosk"))
            tty = term.display("#{pane_tty}")
            _wait(lambda: "-isig" in _stty(tty), "ssh to put the terminal in raw mode", 30)
            from_raw_mode += hold_until_welcome(term)
        _wait(lambda: not kiosk_processes(sshd_pid), "the kiosk to exit", 20)
    print(f"kiosk up after {from_raw_mode} of 3 tries with keys held from raw mode (sshd's window)")

    tries, missed = 6, []
    for _ in range(tries):
        with TmuxDriver() as term:
            term.start(ssh_argv(port, "kiosk"))
            _wait(lambda: _session_runs_the_launcher(sshd_pid), "the launcher to start", 60)
            if not hold_until_welcome(term):
                missed.append(
                    f"screen: {term.scrollback()[-300:]!r}\nkiosk.log: {_tail(root / 'var/log/kiosk/kiosk.log')}\n"
                    f"sshd: {_tail(work / 'sshd.log')}"
                )
        _wait(lambda: not kiosk_processes(sshd_pid), "the kiosk to exit", 20)
    # One miss in six is let through, with what it showed: seen twice in about
    # 150 tries here and not explained yet (the session-owned process was
    # already running the launcher or Python, both ignoring the keys).
    print("\n\n".join(missed))
    assert len(missed) <= 1, f"the kiosk was up after {tries - len(missed)} of {tries} tries:\n" + "\n\n".join(missed)


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"({exc})"


def _session_runs_the_launcher(sshd_pid: int) -> bool:
    """The session's process runs the launcher (then env, then Python). Not
    any process that is not sshd's: PAM's helpers (unix_chkpwd) run before
    the session, in sshd's window."""
    return any(_comm(pid) in ("kiosk-launcher", "env") or _comm(pid).startswith("python") for pid in descendants(sshd_pid))


def _stty(tty: str) -> str:
    return subprocess.run(["stty", "-a", "-F", tty], capture_output=True, text=True, timeout=10).stdout


def _group(gid: int) -> str:
    import grp

    return grp.getgrgid(gid).gr_name


# --- with the privileged backend (--backend) ----------------------------------------------------


@pytest.fixture(scope="module")
def installed_backend():
    """A root installed with --backend (the kiosk account and groups are the system's, as above)."""
    _need_root_sshd_tmux()
    root = Path(tempfile.mkdtemp(prefix="kiosk-e2e-install-backend-"))
    os.chmod(root, 0o755)
    try:
        argv = [
            str(INSTALL), "--demo", "--backend",
            "--prefix", str(root / "opt" / "kiosk"),
            "--config-dir", str(root / "etc" / "kiosk"),
            "--state-dir", str(root / "var" / "lib" / "kiosk"),
            "--log-dir", str(root / "var" / "log" / "kiosk"),
            "--run-dir", str(root / "run" / "kiosk"),
            "--launcher", str(root / "libexec" / "kiosk-launcher"),
            "--sshd-dir", str(root / "etc" / "ssh" / "sshd_config.d"),
            "--systemd-dir", str(root / "etc" / "systemd" / "system"),
        ]
        first = subprocess.run(in_fresh_run(argv, sshd_dir=False), capture_output=True, text=True, timeout=900, cwd="/")
        assert first.returncode == 0, first.stderr[-4000:]
        second = subprocess.run(in_fresh_run(argv, sshd_dir=False), capture_output=True, text=True, timeout=900, cwd="/")
        assert second.returncode == 0, second.stderr[-4000:]
        assert second.stderr.strip().splitlines() == ["install: nothing to change"], second.stderr
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True, text=True, timeout=120, cwd="/")


def test_with_a_backend_the_session_user_reads_neither_the_secret_nor_the_store(installed_backend):
    root = installed_backend
    etc, state, logs = root / "etc" / "kiosk", root / "var" / "lib" / "kiosk", root / "var" / "log" / "kiosk"

    def mode(path: Path) -> tuple[str, str, str]:
        st = path.stat()
        return oct(stat.S_IMODE(st.st_mode)), pwd.getpwuid(st.st_uid).pw_name, _group(st.st_gid)

    secret = etc / "secrets" / "kiosk_directory__service_password"
    assert mode(etc / "secrets") == ("0o750", "root", "kiosk-backend")
    assert mode(secret) == ("0o640", "root", "kiosk-backend")
    assert mode(state) == ("0o700", "kiosk-backend", "kiosk-backend")
    assert mode(state / "kiosk.db") == ("0o600", "kiosk-backend", "kiosk-backend")
    assert mode(logs / "audit.jsonl") == ("0o600", "kiosk-backend", "kiosk-backend")
    assert f'socket = "{root}/run/kiosk/backend.sock"' in (etc / "kiosk.toml").read_text()
    units = root / "etc" / "systemd" / "system"
    assert f"ListenStream={root}/run/kiosk/backend.sock" in (units / "kiosk-backend.socket").read_text()
    service_unit = (units / "kiosk-backend.service").read_text()
    assert "User=kiosk-backend" in service_unit and f"--config {etc}/kiosk.toml backend" in service_unit
    assert "LoadCredential" not in (units / "kiosk@.service").read_text()

    assert mode(etc / "secrets" / "kiosk_answer_pepper") == ("0o640", "root", "kiosk-backend")
    for path in (secret, etc / "secrets" / "kiosk_answer_pepper", state / "kiosk.db", logs / "audit.jsonl"):
        assert _as("kiosk", "cat", str(path)).returncode != 0, f"the kiosk account reads {path}"
        assert _as("kiosk-backend", "test", "-r", str(path)).returncode == 0, f"the backend cannot read {path}"
    assert _as("kiosk", "cat", str(etc / "kiosk.toml")).returncode == 0


def test_with_a_backend_a_session_as_kiosk_unlocks_through_it(installed_backend):
    """The stand-in for systemd: the backend runs as kiosk-backend on the
    installed configuration; a session's client runs as kiosk."""
    root = installed_backend
    python = str(root / "opt" / "kiosk" / ".venv" / "bin" / "python")
    run_dir = root / "run" / "kiosk"
    run_dir.mkdir(parents=True, exist_ok=True)
    backend_user = pwd.getpwnam("kiosk-backend")
    os.chown(run_dir, backend_user.pw_uid, backend_user.pw_gid)
    socket = run_dir / "backend.sock"
    config = root / "etc" / "kiosk" / "kiosk.toml"
    backend = subprocess.Popen(
        ["runuser", "-u", "kiosk-backend", "--", python, "-I", "-m", "kiosk", "--config", str(config), "backend"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd="/",
    )
    try:
        deadline = time.monotonic() + 120
        while not socket.exists():
            assert backend.poll() is None, backend.stdout.read() if backend.stdout else ""
            assert time.monotonic() < deadline, "no socket"
            time.sleep(0.1)
        script = (
            "from kiosk.client import connect_kiosk\n"
            f"service, _ = connect_kiosk({str(socket)!r}, 'e2e')\n"
            "visit = service.begin('carol', 'e2e')\n"
            "service.challenge(visit)\n"
            "service.verify(visit, ['Lyon', 'Misty', 'Oak Lane'])\n"
            "print(service.unlock(visit))\n"
        )
        done = _as("kiosk", python, "-I", "-c", script)
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.strip() == "DEMO\\carol"
        refused = _as("nobody", python, "-I", "-c", script)
        assert "NotAllowed" in refused.stderr or "Permission denied" in refused.stderr, refused.stderr[-2000:]
    finally:
        backend.terminate()
        backend.wait(timeout=30)


def test_with_a_backend_a_session_as_kiosk_starts_as_a_fork_of_the_forkserver(installed_backend):
    """The stand-ins for systemd: root makes the forkserver's socket as
    kiosk-forkserver.socket says and passes it (LISTEN_FDS) to the forkserver
    running as kiosk; the backend runs as kiosk-backend. A session started by
    the installed launcher, as kiosk, shows the kiosk from a fork of it."""
    root = installed_backend
    etc, units = root / "etc" / "kiosk", root / "etc" / "systemd" / "system"
    python = str(root / "opt" / "kiosk" / ".venv" / "bin" / "python")
    run_dir = root / "run" / "kiosk"
    config = etc / "kiosk.toml"
    path = run_dir / "forkserver.sock"
    assert f'forkserver_socket = "{path}"' in config.read_text()
    socket_unit, service_unit = (units / "kiosk-forkserver.socket").read_text(), (units / "kiosk-forkserver.service").read_text()
    assert f"ListenStream={path}\n" in socket_unit and "SocketUser=kiosk\n" in socket_unit and "SocketMode=0600\n" in socket_unit
    assert "User=kiosk\n" in service_unit and f"{python} -I -m kiosk --config {config} forkserver" in service_unit

    run_dir.mkdir(parents=True, exist_ok=True)
    kiosk, backend_user = pwd.getpwnam("kiosk"), pwd.getpwnam("kiosk-backend")
    os.chown(run_dir, backend_user.pw_uid, backend_user.pw_gid)
    backend = subprocess.Popen(
        ["runuser", "-u", "kiosk-backend", "--", python, "-I", "-m", "kiosk", "--config", str(config), "backend"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
    )
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.unlink(missing_ok=True)
    listener.bind(str(path))
    os.chown(path, kiosk.pw_uid, kiosk.pw_gid)
    os.chmod(path, 0o600)
    listener.listen(16)

    def as_systemd_passes_it() -> None:
        os.dup2(listener.fileno(), 3)
        os.setgroups([])
        os.setgid(kiosk.pw_gid)
        os.setuid(kiosk.pw_uid)

    log = root / "forkserver.log"
    forkserver = subprocess.Popen(
        ["/bin/sh", "-c", 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$@"', "sh", python, "-I", "-m", "kiosk", "--config", str(config), "forkserver"],
        stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd="/",
        preexec_fn=as_systemd_passes_it, pass_fds=(3,), env={"LANG": "C.UTF-8"},
    )
    try:
        _wait(lambda: b"serving kiosk sessions" in log.read_bytes() or forkserver.poll() is not None, "the forkserver", 120)
        assert forkserver.poll() is None, log.read_text()
        with TmuxDriver() as term:
            term.start(["runuser", "-u", "kiosk", "--", str(root / "libexec" / "kiosk-launcher")])
            term.wait_for(WELCOME, timeout=60)
            forks = _wait(lambda: [pid for pid in descendants(forkserver.pid)
                                   if Path(f"/proc/{pid}/comm").read_text().startswith("kiosk@")], "a fork serving the session")
            assert pwd.getpwuid(os.stat(f"/proc/{forks[0]}").st_uid).pw_name == "kiosk"
            session = int(Path(f"/proc/{forks[0]}/comm").read_text().strip().removeprefix("kiosk@"))
            assert Path(f"/proc/{session}/cmdline").read_bytes().split(b"\0")[:4] == [python.encode(), b"-I", b"-m", b"kiosk"]
            os.kill(session, signal.SIGHUP)  # sshd's hang-up reaches the session's process, which passes it on
            _wait(lambda: not any(Path(f"/proc/{pid}").exists() for pid in forks), "the fork to exit", 20)
    finally:
        listener.close()
        for process in (forkserver, backend):
            process.terminate()
            process.wait(timeout=30)
