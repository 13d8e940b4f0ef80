"""``kiosk backend`` for the tests: a demo configuration, the backend as a
real subprocess on a Unix socket, and a function run as another user."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path


def local_sections(workdir: Path, *, session_user: str) -> str:
    """A backend's own sections for a test: cheap hashing, no pause, its files
    in ``workdir``, self-service for ``session_user``."""
    return textwrap.dedent(f"""
        [answers]
        time_cost = 5
        memory_cost_kib = 7168
        parallelism = 1
        [throttle]
        delay_seconds = 0.0
        [kiosk]
        log_file = "{workdir / 'kiosk.log'}"
        [store]
        url = "sqlite://{workdir / 'kiosk.db'}"
        [audit]
        file = "{workdir / 'audit.jsonl'}"
        [backend]
        session_user = "{session_user}"
    """)


def demo_config(workdir: Path, *, session_user: str, extra: str = "") -> Path:
    config = workdir / "kiosk.toml"
    config.write_text(textwrap.dedent("""
        [directory]
        kind = "demo"
        default_domain = "DEMO"
        [[directory.domains]]
        netbios = "DEMO"
        dns = "demo.example"
        base_dn = "DC=demo,DC=example"
        [features]
        activate = true
    """) + local_sections(workdir, session_user=session_user) + textwrap.dedent("""
        helpdesk_group = ""
        max_verifications = 2
    """) + textwrap.dedent(extra), encoding="utf-8")
    return config


class Backend:
    """``kiosk backend`` as a subprocess; ``restart`` starts it again on the same socket."""

    def __init__(self, config: Path, socket: Path, environ: dict[str, str] | None = None) -> None:
        self.config, self.socket = config, socket
        self.environ = {**os.environ, **(environ or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.log = socket.parent / "backend.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kiosk", "--config", str(self.config), "backend", "--socket", str(self.socket)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=self.environ,
            )
        deadline = time.monotonic() + 60
        while not self.socket.exists():
            if self.process.poll() is not None:
                raise AssertionError(f"kiosk backend exited {self.process.returncode}:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError("kiosk backend made no socket within 60 s")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()
        self.socket.unlink(missing_ok=True)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


class Forkserver:
    """``kiosk forkserver`` as a subprocess, on ``socket``; ``forks()`` are its
    children serving sessions (named ``kiosk@<session pid>``)."""

    def __init__(self, config: Path, socket: Path) -> None:
        self.config, self.socket = config, socket
        self.process: subprocess.Popen[bytes] | None = None
        self.log = socket.parent / "forkserver.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "kiosk", "--config", str(self.config), "forkserver", "--socket", str(self.socket)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while b"serving kiosk sessions" not in self.log.read_bytes():
            if self.process.poll() is not None:
                raise AssertionError(f"kiosk forkserver exited {self.process.returncode}:\n{self.log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError("kiosk forkserver did not serve within 60 s")
            time.sleep(0.05)

    def forks(self) -> dict[int, str]:
        """Its live children: pid -> name."""
        assert self.process is not None
        found = {}
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            try:
                pids = (task / "children").read_text().split()
            except OSError:
                continue
            for pid in pids:
                try:
                    found[int(pid)] = Path(f"/proc/{pid}/comm").read_text().strip()
                except OSError:
                    pass
        return found

    def stop(self) -> None:
        """The forkserver and any fork of it still running (they outlive it by design)."""
        if self.process is None:
            return
        for pid in self.forks() if self.process.poll() is None else {}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def as_user(uid: int, gid: int, function: Callable[[], str]) -> str:
    """``function`` in a forked child running as ``uid``; what it returned (or raised, by name)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            try:
                answer = function()
            except Exception as exc:  # noqa: BLE001 - the test reads it
                answer = f"raised {type(exc).__name__}: {exc}"
            os.write(write, answer.encode())
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(pid, 0)
    return answer
