"""How many kiosk sessions one host holds: N real sessions beside N bare Textual apps.

    .venv/bin/python bench/capacity.py [--sessions 20] [--storm N --within S]
        [--backend {inprocess,socket}] [--forkserver] [--lab [--lab-dir DIR]] [--rate 1]
        [--verifications 30] [--quick]

Each session is a real program on its own 80x24 pty (os.openpty, the pty its
controlling terminal, TERM=xterm-256color, COLORTERM unset), read all along by
this script (as sshd would). Two kinds, in one run:

    kiosk   python -m kiosk --config <kiosk.toml>: the real entry point, the demo
            directory (a shared SQLite store, throttle limits high so that
            concurrent verifications of one person are not refused), or the
            Samba AD lab with --lab
    bare    a Textual app showing one Static, run(mouse=False)

--sessions N (default 20): N sessions of each kind are started, kinds
interleaved (kiosk, bare, bare, kiosk, ...) so that the load of the machine
hits both, at most --concurrency (default: the CPU count) starting at once
(a slot frees at the first frame). All stay open; then, per kind:

* first frame: from the spawn to the program's text on the pty (the kiosk's
  "What do you need?", the bare app's text), found in the output with the
  escape sequences taken out; p50/p95/max;
* startup CPU per session: utime+stime of the session and its children (waited
  ones through cutime+cstime, live ones read directly), read 1 s after the
  session is ready: the kiosk when its demo banner is shown (the in-process
  backend is built: settings validated in a child, store opened, demo
  seeded), with --lab or --backend socket 3 s after its first frame; the bare
  app at its first frame;
* PSS per idle session: Pss of /proc/PID/smaps_rollup, summed over the
  session's process tree, once every session is ready;
* idle CPU per session: CPU time used over --idle seconds (default 5), as
  milliseconds per second (from the threads' schedstat: nanoseconds, not ticks);
* verifications (kiosk only, the bare apps closed first: the host holds the
  kiosk sessions alone, as it would in use): at a steady --rate per second (default 1),
  --verifications of them (default 30), each on the next idle session in
  turn: an unlock through a person's questions as a person types it (Enter on
  "Unlock my account", the name, Enter, the answers in the order the questions
  are shown, Enter). Timed: from the Enter that submits the answers to the
  result on the screen ("... is unlocked." or the refusal); p50/p95/max. Then
  Enter (or Esc) back to the start screen. Also the CPU per unlock (the
  sessions', and the backend's): what the whole flow as typed used beyond
  the idle CPU measured before. Demo: alice; --lab: a throwaway
  user enrolled in the run's store through the real enrollment path.
* service binds (--lab), counted at the DC: Samba's auth_audit log is switched
  on (level 3, smbcontrol, in the lab's LDAP server processes; put back
  after) and its successful LDAP binds as the service account are counted per
  phase: the backend's start, one session's start, the N sessions' starts and
  idle, the unlocks. Another user of the same lab binding as that account
  meanwhile is counted too. Also, from the client side, the established TCP
  connections to the DC's LDAP port that the sessions' process trees (and the
  backend's) hold once idle.

--storm N --within S: then, one kind at a time (bare first), N sessions
started evenly over S seconds without waiting for one another (a morning's
log-on storm): their first frames (p50/p95/max) and how long after the first
start the last first frame came (goal for the kiosk: 100 within 10 s, all
within 15 s). Those sessions are closed before the other kind's storm.

--backend socket: one ``kiosk --config FILE backend --socket PATH`` is started
for the run and the sessions' config gets ``[backend] socket = PATH`` (and
``session_user`` = the user running this script); its own
PSS and CPU are printed beside the sessions' (spread over N, they are the
host's cost per session). Skipped, with words, when ``kiosk backend`` does not
exist. Default: inprocess (each session builds its own backend).

--forkserver: one ``kiosk forkserver`` is started for the run and the
sessions' config gets ``kiosk.forkserver_socket``: each kiosk session is then
``python -m kiosk`` handing its pty to a fork of it (kiosk/forkserver.py).
That fork (named ``kiosk@<session pid>``) is counted as the session's: its
CPU and PSS are added to the session's. The forkserver's own are printed
beside, like the backend's.

Nothing is asserted. Ratios are kiosk/bare of this run; goals from issue 16:
startup CPU <= 1.3x, first frame <= 1.25x, PSS <= 1.15x, idle CPU <= 1.2x,
unlock p95 <= 2 s at 1 per second. Bounded: at most 1000 sessions of a kind,
no new session while the host has less than 1 GiB available, every wait has a
timeout; every child is killed on the way out (Ctrl+C and SIGTERM too), and
each child gets SIGKILL if this script dies (PR_SET_PDEATHSIG).

--quick (or KIOSK_BENCH_QUICK=1): 2 sessions of each kind, 1 s idle, 2
verifications, to check that the script still works
(tests/integration/test_bench_scripts.py); not a measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import contextlib
import ctypes
import fcntl
import os
import pwd
import re
import resource
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv/bin/python").exists() else sys.executable
CLK_TCK = os.sysconf("SC_CLK_TCK")
MAX_SESSIONS = 1000
MIN_AVAILABLE_MIB = 1024
FRAME_TIMEOUT = 120.0  # a storm of hundreds on two cores is slow, not stuck
STEP_TIMEOUT = 30.0

WELCOME = "What do you need?"
BANNER = "DEMO - nothing"
BARE_TEXT = "BARE-READY"
IDENTIFY = "Who are you?"
CHALLENGE = "Answer your security questions"
UNLOCKED = "is unlocked"
#: what may end a verification other than success (error.* texts of kiosk/messages.py)
REFUSED = ("do not match", "Too many", "try again", "went wrong", "not available", "Please wait")
#: the answers by a word of their question (the demo's alice; a lab user is enrolled with the same)
ANSWERS = {"born": "Paris", "pet": "Rex", "school": "Hillside"}
ENROLLED = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]

BARE_APP = f'''
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("{BARE_TEXT} What do you need?")

Bare().run(mouse=False)
'''

DEMO_DIRECTORY = """
[directory]
kind = "demo"
default_domain = "DEMO"
[[directory.domains]]
netbios = "DEMO"
dns = "demo.example"
base_dn = "DC=demo,DC=example"
"""

LAB_DIRECTORY = """
[directory]
urls = [{url}]
ca_file = {ca}
tls_server_name = {tls}
service_user = {svc}
default_domain = {netbios}
[[directory.domains]]
netbios = {netbios}
dns = {dns}
base_dn = {base}
[eligibility]
allowed_ous = [{ou}]
denied_groups = [{denied}]
"""

COMMON = """
[store]
url = "sqlite://{dir}/kiosk.db"

[audit]
file = "{dir}/audit.jsonl"

[kiosk]
log_file = "{dir}/kiosk.log"
terminal_id = "bench"

[throttle]
account_max_failures = 1000000
terminal_max_failures = 1000000
lifetime_max_failures = 1000000
"""

ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC
    r"|\x1b[PX^_][^\x1b]*\x1b\\"  # DCS, SOS, PM, APC
    r"|\x1b[()*+][0-9A-Za-z]"  # charset
    r"|\x1b[@-Z\\-_=>78]"  # two-character escapes
    r"|[\x00-\x08\x0b-\x1f\x7f]"
)


def visible(raw: str) -> str:
    return ESCAPES.sub("", raw)


# --- /proc ------------------------------------------------------------------------------------


#: The run's forkserver (--forkserver): its children are sessions' forks, named kiosk@<session pid>.
FORKSERVER: list[int] = []


def forked_for(pid: int) -> list[int]:
    """The forkserver's child serving the session ``pid`` (comm is cut at 15 characters)."""
    if not FORKSERVER or pid == FORKSERVER[0]:
        return []
    name = f"kiosk@{pid}"[:15]
    found = []
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{FORKSERVER[0]}/task/{FORKSERVER[0]}/children").read_text().split():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{child}/comm").read_text().strip() == name:
                    found.append(int(child))
    return found


def descendants(pid: int) -> list[int]:
    """pid and its descendants, with the forkserver's fork serving it; the
    forkserver's own tree is itself alone (its children are the sessions')."""
    if FORKSERVER and pid == FORKSERVER[0]:
        return [pid]
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(forked_for(current))
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with contextlib.suppress(OSError):
                    todo.extend(int(p) for p in Path(f"/proc/{current}/task/{task}/children").read_text().split())
    return found


def cpu_seconds(pid: int) -> float:
    """utime+stime+cutime+cstime of pid and its live descendants."""
    total = 0
    for each in descendants(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
            total += sum(int(f) for f in fields[11:15])
    return total / CLK_TCK


def cpu_ns_live(pid: int) -> int:
    """Nanoseconds on a CPU of the live threads of pid's process tree
    (/proc/PID/task/TID/schedstat): finer than clock ticks, for short windows."""
    total = 0
    for each in descendants(pid):
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{each}/task"):
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int(Path(f"/proc/{each}/task/{task}/schedstat").read_text().split()[0])
    return total


def pss_mib(pid: int) -> float:
    total = 0
    for each in descendants(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{each}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
    return total / 1024


def available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return float("inf")


def ldap_connections(pid: int, ports: set[int]) -> int:
    """Established TCP connections to one of ``ports`` held by pid's process tree."""
    inodes = set()
    for each in descendants(pid):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{each}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{each}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                cols = line.split()
                if cols[3] == "01" and int(cols[2].rsplit(":", 1)[1], 16) in ports and cols[9] in inodes:
                    count += 1
    return count


class DcBinds:
    """Binds as the service account counted at the DC: Samba's auth_audit log
    ("Auth: [LDAP,simple bind/TLS] user [DOMAIN]\\[svc] ..."), switched on at
    level 3 in the lab's LDAP server processes for the run (smbcontrol) and put
    back after. Anything else binding as that account meanwhile (another user
    of the lab) is counted too."""

    def __init__(self, lab_dir: Path, service_user: str) -> None:
        self.conf = lab_dir / "etc" / "smb.conf"
        self.log = self._log_file()
        self.user = service_user.rpartition("\\")[2].lower()
        self.pids = subprocess.run(["pgrep", "-f", r"samba: task\[ldap\]"], capture_output=True, text=True).stdout.split()
        self.previous: dict[str, str] = {}
        self.offset = 0

    def _log_file(self) -> Path | None:
        with contextlib.suppress(OSError):
            for line in self.conf.read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "log file":
                    return Path(value.strip())
        return None

    def _smbcontrol(self, pid: str, *args: str) -> str:
        done = subprocess.run(["smbcontrol", "-s", str(self.conf), pid, *args], capture_output=True, text=True, timeout=10)
        return done.stdout if done.returncode == 0 else ""

    def start(self) -> bool:
        if not (self.log and self.pids and shutil.which("smbcontrol")):
            return False
        for pid in self.pids:
            level = re.search(r"auth_audit:(\d+)", self._smbcontrol(pid, "debuglevel"))
            if level and self._smbcontrol(pid, "debug", "auth_audit:3") is not None:
                self.previous[pid] = level.group(1)
        return bool(self.previous)

    def mark(self) -> None:
        with contextlib.suppress(OSError):
            self.offset = self.log.stat().st_size

    def count(self) -> int:
        """Service binds logged since the mark."""
        text = ""
        with contextlib.suppress(OSError):
            size = self.log.stat().st_size
            if size < self.offset:  # rotated: the rest of the old file, then the new one
                with open(f"{self.log}.old", "rb") as old:
                    old.seek(self.offset)
                    text = old.read().decode(errors="replace")
                self.offset = 0
            with open(self.log, "rb") as f:
                f.seek(self.offset)
                text += f.read().decode(errors="replace")
        became = re.compile(r"became \[[^\]]*\]\\\[" + re.escape(self.user) + r"\]", re.IGNORECASE)
        return sum(
            1 for line in text.splitlines()
            if "Auth: [LDAP," in line and "NT_STATUS_OK" in line and became.search(line)
        )

    def stop(self) -> None:
        for pid, level in self.previous.items():
            self._smbcontrol(pid, "debug", f"auth_audit:{level}")
        self.previous = {}


def _child_setup() -> None:
    """In the child, before exec: the pty (stdin) becomes the controlling
    terminal of its new session, and the child dies with this script."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# --- sessions ---------------------------------------------------------------------------------


class Timeout(Exception):
    pass


class Session:
    """One program on its own pty, its output read as it comes."""

    def __init__(self, kind: str, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.kind, self.argv, self.env, self.cwd = kind, argv, env, cwd
        self.proc: subprocess.Popen[bytes] | None = None
        self.master = -1
        self.raw = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.waiting: tuple[Sequence[str], asyncio.Future[str]] | None = None
        self.started = self.first_frame = self.ready = 0.0
        self.startup_cpu: float | None = None
        self.error = ""
        self.alive = False

    def spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        try:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(
                self.argv, stdin=slave, stdout=slave, stderr=slave, env=self.env, cwd=self.cwd,
                start_new_session=True, preexec_fn=_child_setup, close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.master = master
        self.alive = True
        os.set_blocking(master, False)
        loop.add_reader(master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # EIO: every holder of the pty's other side is gone
            self._closed()
            return
        self.raw += self.decoder.decode(data)
        if self.waiting is None:
            if len(self.raw) > 1 << 18:
                self.raw = self.raw[-(1 << 16):]
            return
        self._check()

    def _check(self) -> None:
        assert self.waiting is not None
        texts, future = self.waiting
        screen = visible(self.raw)
        for text in texts:
            if text in screen and not future.done():
                future.set_result(text)
                return

    def _closed(self) -> None:
        if self.master >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.master)
        self.alive = False
        if self.waiting is not None and not self.waiting[1].done():
            self.waiting[1].set_exception(Timeout(f"{self.kind} ended (exit {self.proc and self.proc.poll()})"))

    def mark(self) -> None:
        """Forget what was shown: the next wait looks at new output only."""
        self.raw = ""

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    async def wait(self, texts: Sequence[str], timeout: float) -> str:
        """The first of ``texts`` shown since the last mark."""
        if not self.alive:
            raise Timeout(f"{self.kind} is not running")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.waiting = (texts, future)
        try:
            self._check()
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise Timeout(f"{texts!r} not shown within {timeout:.0f} s") from None
        finally:
            self.waiting = None

    async def wait_until(self, predicate: Callable[[str], Any], timeout: float, what: str) -> Any:
        """Poll what was shown since the mark until ``predicate`` returns something true."""
        deadline = time.monotonic() + timeout
        while True:
            found = predicate(visible(self.raw))
            if found:
                return found
            if not self.alive or time.monotonic() > deadline:
                raise Timeout(f"{what} not shown within {timeout:.0f} s")
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=5)
        if self.master >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self.master)
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = -1
        self.alive = False


ALL: list[Session] = []  # every session ever spawned: stopped on the way out


def stop_all(sessions: Sequence[Session]) -> None:
    for s in sessions:
        s.stop()
    deadline = time.monotonic() + 5
    for s in sessions:
        if s.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                s.proc.wait(timeout=max(0.05, deadline - time.monotonic()))
        s.kill()


# --- the run ----------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, config: Path, env: dict[str, str]) -> None:
        self.args, self.work, self.config, self.env = args, work, config, env
        # The demo banner says the in-process backend is built; otherwise a settle.
        self.banner = BANNER if not args.lab and args.backend == "inprocess" else None
        self.name = "alice"
        self.ldap_ports: set[int] = set()
        self.binds: DcBinds | None = None
        self.bind_counts: dict[str, int] = {}

    def binds_since_mark(self, phase: str) -> None:
        if self.binds is not None:
            self.bind_counts[phase] = self.binds.count()
            self.binds.mark()

    def session(self, kind: str) -> Session:
        if kind == "kiosk":
            argv = [PYTHON, "-m", "kiosk", "--config", str(self.config)]
        else:
            argv = [PYTHON, str(self.work / "bare.py")]
        s = Session(kind, argv, self.env, self.work)
        ALL.append(s)
        return s

    async def boot(self, s: Session, slot: asyncio.Semaphore | None = None) -> None:
        """Spawn; first frame; ready; startup CPU 1 s after ready."""
        held = slot is not None
        try:
            if available_mib() < MIN_AVAILABLE_MIB:
                s.error = f"not started: less than {MIN_AVAILABLE_MIB} MiB available"
                return
            s.spawn(asyncio.get_running_loop())
            text = WELCOME if s.kind == "kiosk" else BARE_TEXT
            await s.wait([text], FRAME_TIMEOUT)
            s.first_frame = time.monotonic()
            if held:
                slot.release()
                held = False
            if s.kind == "kiosk" and self.banner:
                await s.wait([self.banner], FRAME_TIMEOUT)
            elif s.kind == "kiosk":
                await asyncio.sleep(3.0)
            s.ready = time.monotonic()
            await asyncio.sleep(1.0)
            s.startup_cpu = cpu_seconds(s.proc.pid)
            s.mark()
        except (Timeout, OSError) as e:  # OSError: no pty or process left to start
            s.error = str(e)
        finally:
            if held:
                slot.release()

    async def open_sessions(self, n: int) -> dict[str, list[Session]]:
        sessions: dict[str, list[Session]] = {"kiosk": [], "bare": []}
        slot = asyncio.Semaphore(self.args.concurrency)
        tasks = []
        for i in range(n):
            for kind in ("kiosk", "bare") if i % 2 == 0 else ("bare", "kiosk"):
                await slot.acquire()
                s = self.session(kind)
                sessions[kind].append(s)
                tasks.append(asyncio.create_task(self.boot(s, slot)))
        await asyncio.gather(*tasks)
        return sessions

    async def storm(self, kind: str, n: int, within: float) -> tuple[list[Session], float]:
        sessions = [self.session(kind) for _ in range(n)]
        began = time.monotonic()
        tasks = []
        for i, s in enumerate(sessions):
            await asyncio.sleep(max(0.0, began + i * within / max(1, n) - time.monotonic()))
            tasks.append(asyncio.create_task(self.boot(s)))
        await asyncio.gather(*tasks)
        first_start = min(s.started for s in sessions)
        frames = [s.first_frame for s in sessions if s.first_frame]
        return sessions, (max(frames) - first_start) if frames else float("nan")

    async def unlock(self, s: Session) -> tuple[str, float]:
        """One unlock as typed; (outcome, seconds from the submitting Enter to the result)."""
        s.mark()
        s.send("\r")  # "Unlock my account" is the first choice
        await s.wait([IDENTIFY], STEP_TIMEOUT)
        s.mark()
        s.send(self.name + "\r")
        await s.wait([CHALLENGE], STEP_TIMEOUT)

        def answers_in_order(screen: str) -> list[str] | None:
            found = sorted((screen.find(w), a) for w, a in ANSWERS.items())
            return [a for at, a in found] if all(at >= 0 for at, _ in found) else None

        answers = await s.wait_until(answers_in_order, STEP_TIMEOUT, "the three questions")
        s.mark()
        s.send("\t".join(answers))
        await s.wait(["•" * max(len(a) for a in answers)], STEP_TIMEOUT)
        await asyncio.sleep(0.05)
        s.mark()
        began = time.monotonic()
        s.send("\r")
        shown = await s.wait([UNLOCKED, *REFUSED], STEP_TIMEOUT)
        took = time.monotonic() - began
        # back to the start screen
        s.mark()
        s.send("\r" if shown == UNLOCKED else "\x1b")
        for _ in range(5):
            with contextlib.suppress(Timeout):
                await s.wait([WELCOME], 3.0)
                break
            s.mark()
            s.send("\x1b")
        else:
            raise Timeout("the start screen not shown again")
        return ("unlocked" if shown == UNLOCKED else f"refused ({shown})"), took

    async def verifications(self, pool: list[Session], count: int, rate: float) -> dict[str, Any]:
        idle: deque[Session] = deque(pool)
        outcomes: dict[str, int] = {}
        latencies: list[float] = []

        async def one(s: Session) -> None:
            try:
                outcome, took = await self.unlock(s)
                latencies.append(took)
                idle.append(s)
            except (Timeout, OSError) as e:
                outcome = f"stuck ({e})"
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

        tasks = []
        began = time.monotonic()
        for k in range(count):
            await asyncio.sleep(max(0.0, began + k / rate - time.monotonic()))
            if not idle:
                outcomes["no idle session"] = outcomes.get("no idle session", 0) + 1
                continue
            tasks.append(asyncio.create_task(one(idle.popleft())))
        await asyncio.gather(*tasks)
        return {"outcomes": outcomes, "latencies": latencies, "seconds": time.monotonic() - began}


# --- printing ---------------------------------------------------------------------------------


def pct(values: Sequence[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, max(0, round(q * (len(v) - 1))))]


def p50_p95_max(values: Sequence[float], scale: float = 1000) -> str:
    return f"{pct(values, 0.5) * scale:6.0f} {pct(values, 0.95) * scale:6.0f} {max(values, default=float('nan')) * scale:6.0f}"


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and b == b and a == a else "n/a"


def failures(sessions: Sequence[Session]) -> str:
    bad = [s.error for s in sessions if s.error]
    if not bad:
        return ""
    kinds: dict[str, int] = {}
    for e in bad:
        kinds[e] = kinds.get(e, 0) + 1
    return "; ".join(f"{n} x {e}" for e, n in kinds.items())


# --- setup ------------------------------------------------------------------------------------


def backend_exists() -> bool:
    done = subprocess.run([PYTHON, "-m", "kiosk", "backend", "--help"], capture_output=True, timeout=60)
    return done.returncode == 0


def toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def lab_setup(work: Path, lab_dir: Path) -> tuple[str, dict[str, str], str, set[int], Callable[[], None], str]:
    """(directory TOML, environment, the enrolled user's name, LDAP ports, cleanup, service user)."""
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO))
    import lab as lablib  # tests/lab.py

    from kiosk.backend.wiring import build_service
    from kiosk.lab import lab_settings_from_env

    if os.environ.get("KIOSK_TEST_LDAP_URL"):
        env = {k: v for k, v in os.environ.items() if k.startswith("KIOSK_TEST_")}
    elif lablib.lab_running(lab_dir):
        env = lablib.lab_env(lab_dir)
    else:
        print(f"starting the lab in {lab_dir} ...", file=sys.stderr)
        env = lablib.start_lab(lab_dir).env
    lab = lablib.Lab.from_env(env)
    admin = lablib.admin_connection(lab)
    dn, sam, password = lablib.create_user(lab, admin, groups=[lab.staff_team_dn])

    def cleanup() -> None:
        with contextlib.suppress(Exception):
            lablib.delete_user(admin, dn)

    try:
        # Enrolled through the real enrollment path, into the store the sessions use.
        service = build_service(lab_settings_from_env(env, work))
        visit = service.begin(sam, "bench-setup")
        try:
            service.prove_password(visit, password)
            service.enroll(visit, ENROLLED)
        finally:
            service.end(visit)
    except BaseException:
        cleanup()
        raise
    url = env["KIOSK_TEST_LDAP_URL"]
    port = int(url.rsplit(":", 1)[1]) if url.count(":") > 1 else (636 if url.startswith("ldaps") else 389)
    directory = LAB_DIRECTORY.format(
        url=toml_str(url), ca=toml_str(env["KIOSK_TEST_CA_FILE"]), tls=toml_str(env["KIOSK_TEST_TLS_SERVER_NAME"]),
        svc=toml_str(env["KIOSK_TEST_SVC_USER"]), netbios=toml_str(env["KIOSK_TEST_NETBIOS_DOMAIN"]),
        dns=toml_str(env["KIOSK_TEST_UPN_SUFFIX"]), base=toml_str(env["KIOSK_TEST_BASE_DN"]),
        ou=toml_str(env["KIOSK_TEST_STAFF_OU"]), denied=toml_str(env["KIOSK_TEST_KIOSK_DENIED_GROUP_DN"]),
    )
    secret = {"KIOSK_DIRECTORY__SERVICE_PASSWORD": env["KIOSK_TEST_SVC_PASSWORD"]}
    return directory, secret, sam, {port, 389, 636}, cleanup, env["KIOSK_TEST_SVC_USER"]


def start_server(work: Path, config: Path, env: dict[str, str], command: str, ready: Callable[[Path], bool]) -> subprocess.Popen[bytes]:
    """``kiosk --config CONFIG <command> --socket WORK/<command>.sock``, its
    output in WORK/<command>.out, until ``ready(socket path)``."""
    socket_path, out = work / f"{command}.sock", work / f"{command}.out"
    proc = subprocess.Popen(
        [PYTHON, "-m", "kiosk", "--config", str(config), command, "--socket", str(socket_path)],
        stdin=subprocess.DEVNULL, stdout=out.open("wb"), stderr=subprocess.STDOUT, env=env, cwd=work,
        start_new_session=True, preexec_fn=lambda: ctypes.CDLL(None).prctl(1, signal.SIGKILL),
    )
    deadline = time.monotonic() + 60
    while not ready(socket_path):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"kiosk {command} did not start on {socket_path}:\n{out.read_text()[-2000:]}")
        time.sleep(0.05)
    return proc


def start_backend(work: Path, config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    proc = start_server(work, config, env, "backend", lambda path: path.exists())
    return proc, work / "backend.sock"


def start_forkserver(work: Path, config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """It makes its socket before it loads the kiosk: ready when it says it serves."""
    proc = start_server(
        work, config, env, "forkserver", lambda path: b"serving kiosk sessions" in (work / "forkserver.out").read_bytes()
    )
    FORKSERVER[:] = [proc.pid]
    return proc


def stop_forkserver(proc: subprocess.Popen[bytes] | None) -> None:
    """The forkserver, and any fork of it still running (they outlive it by design)."""
    if proc is None:
        return
    with contextlib.suppress(OSError):
        for child in Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)
    stop_backend(proc)


def stop_backend(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


# --- main -------------------------------------------------------------------------------------


async def run(
    args: argparse.Namespace, bench: Bench, backend: subprocess.Popen[bytes] | None,
    forkserver: subprocess.Popen[bytes] | None = None,
) -> None:
    where = "Samba AD lab" if args.lab else "demo directory"
    load = os.getloadavg()
    print(
        f"capacity: {args.sessions} sessions of each kind (kiosk: {where}, backend {args.backend}"
        f"{', forkserver' if forkserver else ''}),"
        f" 80x24 ptys; python {sys.version.split()[0]}, {os.cpu_count()} CPUs,"
        f" load average {load[0]:.1f} at start"
    )
    if backend is not None:
        bench.binds_since_mark("the backend's start")
    # Warm the page cache and .pyc, and seed the shared store once (not counted).
    for kind in ("kiosk", "bare"):
        s = bench.session(kind)
        await bench.boot(s)
        if s.error:
            raise RuntimeError(f"warm-up {kind}: {s.error}\n{visible(s.raw)[-2000:]}")
        stop_all([s])
        if kind == "kiosk":
            bench.binds_since_mark("one session's start (the warm-up)")

    if args.sessions:
        backend_cpu0 = cpu_seconds(backend.pid) if backend else 0.0
        forkserver_cpu0 = cpu_seconds(forkserver.pid) if forkserver else 0.0
        sessions = await bench.open_sessions(args.sessions)
        everyone = sessions["kiosk"] + sessions["bare"]
        await asyncio.sleep(1.0)
        live = [s for s in everyone if s.alive and s.startup_cpu is not None]
        backend_started = cpu_seconds(backend.pid) if backend else 0.0
        forkserver_started = cpu_seconds(forkserver.pid) if forkserver else 0.0
        cpu0 = {id(s): cpu_ns_live(s.proc.pid) for s in live}
        backend_idle0 = cpu_ns_live(backend.pid) if backend else 0
        began = time.monotonic()
        await asyncio.sleep(args.idle)
        idle_for = time.monotonic() - began
        idle = {id(s): (cpu_ns_live(s.proc.pid) - cpu0[id(s)]) / 1e9 / idle_for for s in live}
        backend_idle = (cpu_ns_live(backend.pid) - backend_idle0) / 1e9 / idle_for if backend else 0.0
        pss = {id(s): pss_mib(s.proc.pid) for s in live}
        conns = {id(s): ldap_connections(s.proc.pid, bench.ldap_ports) for s in live} if args.lab else {}
        bench.binds_since_mark(f"{len(sessions['kiosk'])} kiosk sessions' starts and idle")

        print(
            f"{'':6} {'first frame ms':>20} {'startup CPU':>12} {'PSS idle':>9} {'idle CPU':>9}  sessions"
        )
        print(f"{'':6} {'p50    p95    max':>20} {'ms/session':>12} {'MiB/sess.':>9} {'ms/s/sess.':>9}  ready/started")
        figures: dict[str, dict[str, float]] = {}
        for kind in ("kiosk", "bare"):
            group = sessions[kind]
            ok = [s for s in group if s.startup_cpu is not None and id(s) in idle]
            frames = [s.first_frame - s.started for s in group if s.first_frame]
            figures[kind] = {
                "frame": pct(frames, 0.5),
                "cpu": mean([s.startup_cpu for s in ok]),
                "pss": mean([pss[id(s)] for s in ok]),
                "idle": mean([idle[id(s)] for s in ok]),
            }
            f = figures[kind]
            print(
                f"{kind:6} {p50_p95_max(frames):>20} {f['cpu'] * 1000:12.0f} {f['pss']:9.1f} {f['idle'] * 1000:9.2f}"
                f"  {len(ok)}/{len(group)}"
            )
            if failures(group):
                print(f"  {kind} not ready: {failures(group)}")
        k, b = figures["kiosk"], figures["bare"]
        print(
            f"kiosk/bare: first frame {ratio(k['frame'], b['frame'])} (goal <= 1.25x),"
            f" startup CPU {ratio(k['cpu'], b['cpu'])} (<= 1.3x), PSS {ratio(k['pss'], b['pss'])} (<= 1.15x),"
            f" idle CPU {ratio(k['idle'], b['idle'])} (<= 1.2x)"
        )
        if backend:
            startup = backend_cpu0
            print(
                f"backend (one for the run): PSS {pss_mib(backend.pid):.1f} MiB, CPU {startup * 1000:.0f} ms before"
                f" the sessions (its start and the warm-up session's), then"
                f" {(backend_started - startup) / max(1, len(sessions['kiosk'])) * 1000:.1f} ms per kiosk session started,"
                f" idle {backend_idle * 1000:.2f} ms/s"
            )
        if forkserver:
            print(
                f"forkserver (one for the run): PSS {pss_mib(forkserver.pid):.1f} MiB (its share of the code its forks"
                f" share), CPU {forkserver_cpu0 * 1000:.0f} ms before the sessions (its start: the kiosk's imports),"
                f" then {(forkserver_started - forkserver_cpu0) / max(1, len(sessions['kiosk'])) * 1000:.1f} ms"
                f" per kiosk session started"
            )
        if args.lab:
            held = {kind: sum(conns.get(id(s), 0) for s in sessions[kind]) for kind in ("kiosk", "bare")}
            held_backend = ldap_connections(backend.pid, bench.ldap_ports) if backend else 0
            print(
                f"LDAP connections to the DC held at idle (each bound as the service account): kiosk sessions"
                f" {held['kiosk']} for {len(sessions['kiosk'])}, bare {held['bare']}, backend {held_backend}"
            )

        pool = [s for s in sessions["kiosk"] if s.alive and s.startup_cpu is not None]
        if args.verifications and pool:
            # The bare apps were the reference for the figures above; the unlocks
            # are timed with the kiosk sessions alone open, as on a real host.
            stop_all(sessions["bare"])
            await asyncio.sleep(1.0)
            backend_v0 = cpu_seconds(backend.pid) if backend else 0.0
            pool_v0 = sum(cpu_seconds(s.proc.pid) for s in pool)
            result = await bench.verifications(pool, args.verifications, args.rate)
            lat = result["latencies"]
            outcomes = ", ".join(f"{n} {o}" for o, n in sorted(result["outcomes"].items()))
            print(
                f"unlock at {args.rate:g}/s over {len(pool)} kiosk sessions (the bare apps closed):"
                f" {args.verifications} started, {outcomes};"
                f" Enter -> result ms p50 {pct(lat, 0.5) * 1000:.0f}  p95 {pct(lat, 0.95) * 1000:.0f}"
                f"  max {max(lat, default=float('nan')) * 1000:.0f} (goal p95 <= 2000)"
            )
            pool_cpu = sum(cpu_seconds(s.proc.pid) for s in pool) - pool_v0
            pool_cpu -= sum(idle.get(id(s), 0.0) for s in pool) * result["seconds"]  # what they would have used idle
            backend_cpu = cpu_seconds(backend.pid) - backend_v0 - backend_idle * result["seconds"] if backend else 0.0
            print(
                f"CPU per unlock (the whole flow as typed, over {result['seconds']:.0f} s, idle CPU taken out):"
                f" sessions {pool_cpu / args.verifications * 1000:.0f} ms"
                + (f", backend {backend_cpu / args.verifications * 1000:.0f} ms" if backend else "")
            )
            bench.binds_since_mark(f"{args.verifications} unlocks")
        if bench.binds is not None:
            counts = ", ".join(f"{phase} {n}" for phase, n in bench.bind_counts.items())
            print(f"service binds counted at the DC (Samba auth_audit, anyone binding as it included): {counts}")
        elif args.lab:
            print("service binds counted at the DC: not available (needs smbcontrol and the lab's smb.conf)")
        stop_all(everyone)

    if args.storm:
        print(f"storm: {args.storm} sessions started evenly within {args.within:g} s, one kind at a time")
        print(f"{'':6} {'first frame ms':>20} {'last first frame':>17}  ready/started")
        print(f"{'':6} {'p50    p95    max':>20} {'s after 1st start':>17}")
        spans = {}
        for kind in ("bare", "kiosk"):
            group, span = await bench.storm(kind, args.storm, args.within)
            spans[kind] = span
            frames = [s.first_frame - s.started for s in group if s.first_frame]
            shown = sum(1 for s in group if s.first_frame)
            print(f"{kind:6} {p50_p95_max(frames):>20} {span:17.1f}  {shown}/{len(group)}")
            if failures(group):
                print(f"  {kind} not ready: {failures(group)}")
            stop_all(group)
        print(f"kiosk storm: all first frames within {spans['kiosk']:.1f} s of the first start (goal <= 15 s for 100 within 10 s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, help="sessions of each kind held open (default 20; --quick: 2)")
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2, help="sessions starting at once")
    parser.add_argument("--idle", type=float, help="seconds of idle CPU measured (default 5; --quick: 1)")
    parser.add_argument("--rate", type=float, default=1.0, help="verifications per second")
    parser.add_argument("--verifications", type=int, help="how many (default 30; --quick: 2; 0: none)")
    parser.add_argument("--storm", type=int, default=0, metavar="N", help="N sessions of each kind started within --within")
    parser.add_argument("--within", type=float, default=10.0, metavar="S")
    parser.add_argument("--backend", choices=("inprocess", "socket"), default="inprocess")
    parser.add_argument("--forkserver", action="store_true", help="kiosk sessions start as forks of one kiosk forkserver")
    parser.add_argument("--lab", action="store_true", help="the sessions on the Samba AD lab, not the demo directory")
    parser.add_argument("--lab-dir", type=Path, default=Path(os.environ.get("KIOSK_LAB_DIR") or REPO / ".lab"))
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="2 sessions, 2 verifications: checks the script works (also KIOSK_BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    if args.sessions is None:
        args.sessions = 2 if args.quick else 20
    if args.idle is None:
        args.idle = 1.0 if args.quick else 5.0
    if args.verifications is None:
        args.verifications = 2 if args.quick else 30
    if not (0 <= args.sessions <= MAX_SESSIONS and 0 <= args.storm <= MAX_SESSIONS):
        parser.error(f"at most {MAX_SESSIONS} sessions of a kind")
    if args.rate <= 0 or args.within < 0 or args.concurrency < 1 or args.idle <= 0:
        parser.error("--rate, --idle and --concurrency must be positive, --within not negative")
    if args.backend == "socket" and not backend_exists():
        print("capacity: --backend socket skipped: this kiosk has no `kiosk backend` command yet")
        return 0

    # Two pty masters per pair of sessions: the usual 1024 open files are too few for 300 + 300.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    # As deployed: bytecode written at install (see bench/startup.py).
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "kiosk")], check=True, timeout=120)
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-capacity-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK_") and k != "COLORTERM"}
    env.update(TERM="xterm-256color", LANG=os.environ.get("LANG", "C.UTF-8"))
    backend = forkserver = None
    binds: DcBinds | None = None
    cleanup: Callable[[], None] = lambda: None

    def terminated(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        if args.lab:
            directory, secret, name, ports, cleanup, service_user = lab_setup(work, args.lab_dir)
            binds = DcBinds(args.lab_dir, service_user)  # put back in the finally, whatever start did
            if binds.start():
                binds.mark()
            else:
                binds.stop()
                binds = None
        else:
            directory, name, ports, secret = DEMO_DIRECTORY, "alice", set(), {}
        text = directory + COMMON.format(dir=work)
        config = work / "kiosk.toml"
        if args.backend == "socket":
            # One file for the backend and the sessions; the sessions run as this user.
            text += (
                f"\n[backend]\nsocket = {toml_str(str(work / 'backend.sock'))}\n"
                f"session_user = {toml_str(pwd.getpwuid(os.getuid()).pw_name)}\n"
            )
            config.write_text(text)
            backend, _ = start_backend(work, config, {**env, **secret})  # the only holder of the secret
        else:
            env.update(secret)
        if args.forkserver:
            text = text.replace("[kiosk]\n", f"[kiosk]\nforkserver_socket = {toml_str(str(work / 'forkserver.sock'))}\n", 1)
            config.write_text(text)
            forkserver = start_forkserver(work, config, env)
        config.write_text(text)
        (work / "bare.py").write_text(BARE_APP)
        bench = Bench(args, work, config, env)
        bench.name, bench.ldap_ports, bench.binds = name, ports, binds
        asyncio.run(run(args, bench, backend, forkserver))
        return 0
    except KeyboardInterrupt:
        print("capacity: interrupted; every session stopped", file=sys.stderr)
        return 130
    except RuntimeError as e:
        print(f"capacity: {e}", file=sys.stderr)
        return 1
    finally:
        stop_all(ALL)
        stop_forkserver(forkserver)
        stop_backend(backend)
        if binds is not None:
            binds.stop()
        cleanup()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
