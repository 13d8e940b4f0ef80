"""Drive a real program in a real terminal: a private tmux server per use.

    with TmuxDriver() as term:                      # 80x24, TERM=linux, COLORTERM unset
        term.start([PYTHON, "-m", "kiosk", "demo", "--locked"])
        term.wait_for("What do you need?")
        term.keys("Down", "Enter")                  # one send-keys call = one burst
        term.type("alice")                          # literal text (send-keys -l)
        assert "alice" in term.screen()
        term.signal(signal.SIGTERM); assert term.wait_exit() == 0

Every tmux call, every wait and the teardown are bounded in time. The server
runs on its own socket (``tmux -L kiosk-e2e-<random>``) with
``remain-on-exit on``, so after the program ends its last screen, its exit
status and the terminal's modes (``#{alternate_on}``, ``#{cursor_flag}``) can
still be read. ``close()`` kills the server and then any process it
started that is still alive (SIGHUP first, as a terminal closing would, then
SIGKILL).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

TMUX_TIMEOUT = 5.0  # one tmux command
POLL = 0.02


class TmuxError(AssertionError):
    """A wait ran out, or tmux misbehaved; carries the last screen."""


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class TmuxDriver:
    def __init__(self, cols: int = 80, rows: int = 24, *, term: str = "linux", history: int = 5000) -> None:
        self.cols, self.rows, self.term = cols, rows, term
        self.socket = f"kiosk-e2e-{secrets.token_hex(4)}"
        self._dir = Path(tempfile.mkdtemp(prefix="kiosk-tmux-"))
        self._conf = self._dir / "tmux.conf"
        self._conf.write_text(
            "set -g remain-on-exit on\n"
            f"set -g history-limit {history}\n"
            "set -g status off\n"
            "set -sg escape-time 0\n"
        )
        self._status = self._dir / "exit-status"
        self._started = False
        self._pid = self._shell = 0
        self._pids: set[int] = set()

    # --- tmux ------------------------------------------------------------------------

    def tmux(self, *args: str, check: bool = True, env: Mapping[str, str] | None = None) -> str:
        try:
            done = subprocess.run(
                ["tmux", "-f", str(self._conf), "-L", self.socket, *args],
                capture_output=True,
                text=True,
                timeout=TMUX_TIMEOUT,
                env=dict(env) if env is not None else None,
            )
        except subprocess.TimeoutExpired:
            raise TmuxError(f"tmux {' '.join(args[:2])} timed out after {TMUX_TIMEOUT}s") from None
        if check and done.returncode != 0:
            raise TmuxError(f"tmux {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def start(
        self,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        unset: Sequence[str] = ("COLORTERM",),
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 5.0,
    ) -> int:
        """Run ``cmd`` (argv) in a new 80x24 pane; returns the program's pid.

        ``env`` is added to this process's environment for the program; it
        travels through the tmux server's environment, never through argv
        (so secrets don't show in ``ps``). ``unset`` names are removed.

        A small ``sh`` runs the program as its child and writes its exit
        status to a file: tmux itself sometimes misses a pane's SIGCHLD
        (measured with tmux 3.3a: the program stays a zombie and
        ``#{pane_dead_status}`` stays empty until another child exits).
        """
        if self._started:
            raise TmuxError("one program per driver: make a new TmuxDriver")
        server_env = dict(os.environ)
        server_env.pop("TMUX", None)
        server_env.update(env or {})
        program = ["env", "-uE2E_TMUX_STATUS", *[f"-u{name}" for name in unset], f"TERM={self.term}", *cmd]
        record = '"$@"; echo "$?" > "$E2E_TMUX_STATUS.tmp" && mv "$E2E_TMUX_STATUS.tmp" "$E2E_TMUX_STATUS"'
        wrapper = ["/bin/sh", "-c", record, "sh", *program]
        server_env["E2E_TMUX_STATUS"] = str(self._status)
        extra = ["-c", str(cwd)] if cwd is not None else []
        self.tmux(
            "new-session", "-d", "-s", "k", "-x", str(self.cols), "-y", str(self.rows), *extra, *wrapper,
            env=server_env,
        )
        self._started = True
        self._shell = int(self.display("#{pane_pid}"))
        self._pids.add(self._shell)
        deadline = time.monotonic() + timeout
        while not children(self._shell):
            if self._status.exists():  # it ended at once; its pid is unknown
                self._pid = -1
                return self._pid
            if time.monotonic() > deadline:
                raise TmuxError(f"{cmd[0]} did not start within {timeout}s")
            time.sleep(0.005)
        self._pid = children(self._shell)[0]
        self._pids.add(self._pid)
        return self._pid

    def display(self, fmt: str) -> str:
        return self.tmux("display-message", "-p", "-t", "k", fmt).strip()

    # --- what the program sees and shows -------------------------------------------------

    def keys(self, *keys: str) -> None:
        """tmux key names ("C-c", "C-\\\\", "Tab", "Enter", "Escape") or text, all in
        one send-keys call: the program receives them as one burst."""
        self.tmux("send-keys", "-t", "k", *keys)

    def type(self, text: str) -> None:
        """Literal text, one burst (send-keys -l: no key-name lookup)."""
        self.tmux("send-keys", "-t", "k", "-l", text)

    def screen(self, *, escapes: bool = False) -> str:
        """The visible screen as text (with SGR codes when ``escapes``)."""
        args = ["capture-pane", "-p", "-t", "k"]
        if escapes:
            args.append("-e")
        return self.tmux(*args)

    def scrollback(self) -> str:
        """Everything tmux kept: the history and the visible screen."""
        return self.tmux("capture-pane", "-p", "-t", "k", "-S", "-", "-E", "-")

    def wait_until(self, predicate: Callable[[str], bool], timeout: float = 10.0, what: str = "condition") -> str:
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if predicate(shown):
                return shown
            if time.monotonic() > deadline:
                raise TmuxError(f"{what} not reached within {timeout}s; the screen:\n{shown}")
            time.sleep(POLL)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        return self.wait_until(lambda s: text in s, timeout, f"{text!r} on screen")

    def wait_gone(self, text: str, timeout: float = 10.0) -> str:
        return self.wait_until(lambda s: text not in s, timeout, f"{text!r} gone from the screen")

    # --- the program's process ---------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The program's pid (``env`` execs it)."""
        if not self._started:
            raise TmuxError("nothing started")
        return self._pid

    def dead(self) -> bool:
        """Has the program ended (and its exit status been recorded)?"""
        return self._status.exists()

    def alive(self) -> bool:
        """Running (not exited, not stopped by a job-control signal)."""
        return not self.dead() and process_state(self.pid) not in (None, "T", "t", "Z")

    def exit_status(self) -> int | None:
        """The program's exit status as sh reports it (128+N: killed by signal N)."""
        try:
            return int(self._status.read_text())
        except (OSError, ValueError):
            return None

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        deadline = time.monotonic() + timeout
        while not self.dead():
            if time.monotonic() > deadline:
                raise TmuxError(f"still running after {timeout}s; the screen:\n{self.screen()}")
            time.sleep(POLL)
        return self.exit_status()

    def signal(self, number: int) -> None:
        os.kill(self.pid, number)

    def alternate_screen(self) -> bool:
        """Is the terminal still in the alternate screen (a program left it there)?"""
        return self.display("#{alternate_on}") == "1"

    def cursor_visible(self) -> bool:
        return self.display("#{cursor_flag}") == "1"

    # --- teardown ------------------------------------------------------------------------------

    def close(self) -> None:
        self.tmux("kill-server", check=False)
        for pid in self._pids:
            _reap(pid)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> TmuxDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def process_state(pid: int) -> str | None:
    """The state letter from /proc/PID/stat (R, S, T, Z...), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            pass
    return found


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _reap(pid: int, timeout: float = 3.0) -> None:
    """Make sure ``pid`` (which we started) is gone: SIGHUP, wait, then SIGKILL."""
    for sig, wait in ((signal.SIGHUP, timeout), (signal.SIGKILL, 1.0)):
        if process_state(pid) in (None, "Z"):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and process_state(pid) not in (None, "Z"):
            time.sleep(POLL)
