"""The ``kiosk`` command.

``kiosk`` runs the locked-down kiosk; ``kiosk demo`` the same app on a pretend
directory; ``kiosk helpdesk`` the support staff's face (sshd ForceCommand);
``kiosk check`` probes configuration and domain controllers; ``kiosk
backend`` serves the sessions of a host that sets ``backend.socket`` (each
session is then only the UI, a client of it).
Imports stay inside the commands: a thin client should see the first screen
fast, and ``kiosk check`` should not pay for Textual.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.i18n import LANGUAGES, SOURCE_LANGUAGE

if TYPE_CHECKING:
    from textual.app import App

    from kiosk.backend.ports import HelpdeskPort, SelfServicePort
    from kiosk.backend.service import SelfService
    from kiosk.config import Settings

log = logging.getLogger("kiosk")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def main(argv: Sequence[str] | None = None) -> int:
    """Never a traceback: Ctrl+C anywhere (even while the commands' modules
    load) ends the command quietly. Kiosk sessions never get that far: their
    launcher ignores the terminal's signals before Python starts."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    args = _kiosk_args(sys.argv[1:] if argv is None else argv) or _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    from kiosk.backend.errors import ConfigError, KioskError

    try:
        return handler(args)
    except ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KioskError as exc:
        from kiosk.messages import error_text

        print(f"kiosk: {error_text(exc)} ({exc.code}: {exc.detail})", file=sys.stderr)
        return EXIT_FAILURE
    except BrokenPipeError:
        return EXIT_OK


def _kiosk_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """What every kiosk session's launcher runs (``kiosk [--config PATH]``),
    read without building the parser of every command (its ~30 subcommands are
    CPU in each session); anything else goes to the parser."""
    args = list(argv)
    if args[:1] == ["--config"] and len(args) == 2 and not args[1].startswith("-"):
        config: str | None = args[1]
    elif len(args) == 1 and args[0].startswith("--config=") and len(args[0]) > len("--config="):
        config = args[0].removeprefix("--config=")
    elif not args:
        config = None
    else:
        return None
    return argparse.Namespace(config=config, handler=_cmd_kiosk)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk", description="Self-service password reset for Active Directory, in a terminal."
    )
    parser.add_argument("--config", metavar="PATH", help="configuration file (default: $KIOSK_CONFIG or /etc/kiosk/kiosk.toml)")
    parser.set_defaults(handler=_cmd_kiosk)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="run the kiosk (the default)")
    run.set_defaults(handler=_cmd_kiosk)

    helpdesk = commands.add_parser("helpdesk", help="the helpdesk for support staff (sshd ForceCommand)")
    helpdesk.set_defaults(handler=_cmd_helpdesk)

    backend = commands.add_parser("backend", help="the privileged backend the sessions connect to (systemd starts it)")
    backend.add_argument("--socket", metavar="PATH", help="listen here (default: backend.socket; systemd passes its own)")
    backend.set_defaults(handler=_cmd_backend)

    forkserver = commands.add_parser(
        "forkserver", help="the kiosk's code loaded once; each session a fork of it (systemd starts it)"
    )
    forkserver.add_argument("--socket", metavar="PATH", help="listen here (default: kiosk.forkserver_socket; systemd passes its own)")
    forkserver.set_defaults(handler=_cmd_forkserver)

    demo = commands.add_parser("demo", help="try the kiosk on a pretend directory (no domain, no root)")
    demo.add_argument("--lab", action="store_true", help="use the Samba AD lab (root; starts it) instead")
    demo.add_argument("--locked", action="store_true", help="lock the demo down like a real kiosk (no quit key)")
    demo.set_defaults(handler=_cmd_demo)

    check = commands.add_parser("check", help="check the configuration and every domain controller")
    check.add_argument("--test-account", metavar="NAME", help="also check the rights to unlock/reset this account")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(handler=_cmd_check)

    admin_cli = _AdminCommands()

    questions = commands.add_parser("questions", help="export or import the security questions")
    questions_commands = questions.add_subparsers(title="questions commands", metavar="ACTION", required=True)
    export = questions_commands.add_parser("export", help="write the questions as TOML (- for stdout)")
    export.add_argument("file", metavar="FILE")
    export.set_defaults(handler=admin_cli.questions_export)
    imports = questions_commands.add_parser("import", help="validate a questions file and install it")
    imports.add_argument("file", metavar="FILE")
    imports.add_argument("--dry-run", action="store_true", help="only validate and show what would change")
    imports.add_argument("--json", action="store_true")
    imports.set_defaults(handler=admin_cli.questions_import)

    enrollment = commands.add_parser("enrollment", help="enrollment report and revocation")
    enrollment_commands = enrollment.add_subparsers(title="enrollment commands", metavar="ACTION", required=True)
    report = enrollment_commands.add_parser("report", help="who is enrolled among the eligible accounts")
    report.add_argument("--format", choices=("table", "csv", "json"), default="table")
    report.add_argument("-q", "--quiet", action="store_true", help="no progress count on stderr")
    report.set_defaults(handler=admin_cli.enrollment_report)
    _user_command(enrollment_commands, "revoke", "forget a person's answers: they must enroll again",
                  admin_cli.enrollment_revoke)

    activation = commands.add_parser("activation", help="activation codes for new accounts")
    activation_commands = activation.add_subparsers(title="activation commands", metavar="ACTION", required=True)
    _user_command(activation_commands, "issue", "issue a one-time activation code for USER and print it",
                  admin_cli.activation_issue)

    throttle = commands.add_parser("throttle", help="a person's failed attempts: show them, or clear them and any lock")
    throttle_commands = throttle.add_subparsers(title="throttle commands", metavar="ACTION", required=True)
    _user_command(throttle_commands, "status", "USER's failed attempts and lock", admin_cli.throttle_status)
    _user_command(throttle_commands, "clear", "forget USER's failed attempts and lift any lock (audited)",
                  admin_cli.throttle_clear)

    audit = commands.add_parser("audit", help="read the audit log")
    audit_commands = audit.add_subparsers(title="audit commands", metavar="ACTION", required=True)
    tail = audit_commands.add_parser("tail", help="the last events (and new ones with --follow)")
    tail.add_argument("-n", "--lines", type=int, default=20, metavar="N")
    tail.add_argument("-f", "--follow", action="store_true")
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.set_defaults(handler=admin_cli.audit_tail)

    store = commands.add_parser("store", help="the enrollment store: create or migrate it, move a site to another")
    store_commands = store.add_subparsers(title="store commands", metavar="ACTION", required=True)
    migrate = store_commands.add_parser("migrate", help="create or migrate the store's schema; print its version")
    migrate.add_argument("--url", metavar="URL", help="this store instead of the configured store.url")
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(handler=admin_cli.store_migrate)
    copy = store_commands.add_parser("copy", help="copy enrollments and site secrets to another store (idempotent)")
    copy.add_argument("--from", dest="source", metavar="URL", required=True, help="e.g. sqlite:///var/lib/kiosk/kiosk.db")
    copy.add_argument("--to", metavar="URL", help="e.g. postgresql://kiosk@db/kiosk (default: the configured store.url)")
    copy.add_argument("--json", action="store_true")
    copy.set_defaults(handler=admin_cli.store_copy)

    notify = commands.add_parser("notify", help="the notices mailed after changes to accounts")
    notify_commands = notify.add_subparsers(title="notify commands", metavar="ACTION", required=True)
    flush = notify_commands.add_parser("flush", help="send the notices waiting in the outbox (the timer runs it)")
    flush.add_argument("--json", action="store_true")
    flush.set_defaults(handler=admin_cli.notify_flush)

    remind = commands.add_parser("remind", help="mail reminders: enroll, set up an authenticator app, or a password that expires soon (the timer runs it)")
    remind.add_argument("--dry-run", action="store_true", help="list who would get what; queue nothing")
    remind.add_argument("--json", action="store_true")
    remind.add_argument("-q", "--quiet", action="store_true", help="no progress count on stderr")
    remind.set_defaults(handler=admin_cli.remind)
    return parser


class _AdminCommands:
    """``kiosk.admin_cli``'s commands, imported when one runs: a kiosk session
    (the default command) builds this parser too, and needs none of them."""

    def __getattr__(self, name: str) -> Callable[[argparse.Namespace], int]:
        def handler(args: argparse.Namespace) -> int:
            from kiosk import admin_cli

            command: Callable[[argparse.Namespace], int] = getattr(admin_cli, name)
            return command(args)

        handler.__name__ = handler.__qualname__ = name
        return handler


# --- kiosk -----------------------------------------------------------------------------


def _user_command(
    commands: argparse._SubParsersAction, name: str, help: str, handler: Callable[[argparse.Namespace], int]
) -> None:
    """An admin command about one person: USER as a person would type it, and --json."""
    command = commands.add_parser(name, help=help)
    command.add_argument("user", metavar="USER", help="sam, DOMAIN\\sam or UPN")
    command.add_argument("--json", action="store_true")
    command.set_defaults(handler=handler)


def _cmd_kiosk(args: argparse.Namespace) -> int:
    """The first frame comes from the raw file; then pydantic validates it in
    a child process (``PendingSettings``, started after that frame so the two
    do not compete on a one-core thin client), and no one is served before it
    has: the screen comes sooner and the long-lived process stays small."""
    from kiosk.config.sources import config_path
    from kiosk.config.startup import PendingSettings, provisional_settings, read_config

    file = config_path(args.config, os.environ)
    data = read_config(file, os.environ)  # a missing or broken file is named at once
    settings = provisional_settings(data)
    if settings.backend.socket:
        return _run_remote_kiosk(settings)

    def validated() -> Settings:
        return PendingSettings(file).result()

    return run_app(settings, settings_loader=validated)


def session_without_tls() -> None:
    """A session on the backend speaks to nothing over TLS: asyncio (under
    Textual) takes ``ssl`` when it can, and OpenSSL with it, in every session;
    it does without when ``ssl`` cannot be imported. Call before Textual loads."""
    if "ssl" not in sys.modules:
        sys.modules["ssl"] = None  # type: ignore[assignment]  # import ssl -> ImportError


def _run_remote_kiosk(settings: Settings) -> int:
    """The session is only the UI: the backend (``kiosk backend``) validated
    the configuration and holds everything else; the faces connect to it
    after the first frame, and again after it went away."""
    from kiosk.backend.terminal import terminal_name

    session_without_tls()

    terminal = terminal_name(settings.kiosk.terminal_id)
    faces: dict[str, Any] = {}

    def service() -> SelfServicePort:
        from kiosk.client import connect_kiosk

        faces["service"], faces["activation"] = connect_kiosk(settings.backend.socket, terminal)
        return faces["service"]

    def kiosk_app(settings: Settings) -> App[None]:
        from kiosk.app import KioskApp

        return KioskApp(settings, service_factory=service, activation_factory=lambda: faces.get("activation"))

    return run_app(settings, make_app=kiosk_app)


def _cmd_backend(args: argparse.Namespace) -> int:
    """Validate the configuration once, build the one backend, serve the sessions."""
    from kiosk.backend.server import run
    from kiosk.config.loading import load_settings, preflight

    settings = load_settings(args.config)
    preflight(settings)
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")  # the journal
    return run(settings, socket_path=Path(args.socket) if args.socket else None)


def _cmd_forkserver(args: argparse.Namespace) -> int:
    """Load what a session loads once, then fork one child per session (``kiosk.attach``)."""
    from kiosk.config.sources import config_path
    from kiosk.config.startup import provisional_settings, read_config
    from kiosk.forkserver import run

    settings = provisional_settings(read_config(config_path(args.config, os.environ), os.environ))
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")  # the journal
    socket_path = args.socket or settings.kiosk.forkserver_socket
    return run(Path(socket_path) if socket_path else None, preload=_session_modules, session=main)


def _session_modules() -> None:
    """What a kiosk session on the backend loads before its first frame
    (``_run_remote_kiosk``), for the forkserver to load once."""
    session_without_tls()
    import textual._xterm_parser  # noqa: F401
    import textual.drivers.linux_driver  # noqa: F401

    import kiosk.app  # noqa: F401
    import kiosk.backend.terminal  # noqa: F401
    import kiosk.client  # noqa: F401
    import kiosk.config.startup  # noqa: F401


def _cmd_helpdesk(args: argparse.Namespace) -> int:
    from kiosk.config.loading import load_settings, preflight
    from kiosk.config.sources import config_path
    from kiosk.config.startup import provisional_settings, read_config

    provisional = provisional_settings(read_config(config_path(args.config, os.environ), os.environ))
    if provisional.backend.socket:
        return _run_remote_helpdesk(provisional)
    settings = load_settings(args.config)
    preflight(settings)

    def helpdesk_app(settings: Settings) -> App[None]:
        from kiosk.helpdesk_app import HelpdeskApp

        return HelpdeskApp(settings)  # the operator is the SSH login

    return run_app(settings, make_app=helpdesk_app)


def _run_remote_helpdesk(settings: Settings) -> int:
    """The helpdesk as a client of the backend, which knows the operator by this process's uid."""
    from kiosk.backend.terminal import terminal_name

    session_without_tls()

    terminal = terminal_name(settings.kiosk.terminal_id)

    def helpdesk() -> HelpdeskPort:
        from kiosk.client import connect_helpdesk

        return connect_helpdesk(settings.backend.socket, terminal)

    def helpdesk_app(settings: Settings) -> App[None]:
        from kiosk.helpdesk_app import HelpdeskApp

        return HelpdeskApp(settings, helpdesk_factory=helpdesk)  # the operator is the SSH login

    return run_app(settings, make_app=helpdesk_app)


def run_app(
    settings: Settings,
    service_factory: Callable[[], SelfService] | None = None,
    *,
    make_app: Callable[[Settings], App[None]] | None = None,
    settings_loader: Callable[[], Settings] | None = None,
) -> int:
    """Run the Textual app (the kiosk unless ``make_app`` says) on this
    terminal; returns the exit code. With ``settings_loader``, ``settings`` are
    provisional and the app validates them after its first frame."""
    if settings.kiosk.lockdown:
        # Before Textual loads: until its driver switches the tty to raw mode,
        # Ctrl+C / Ctrl+\ / Ctrl+Z would still send signals.
        for number in (signal.SIGINT, signal.SIGQUIT, signal.SIGTSTP):
            signal.signal(number, signal.SIG_IGN)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        if settings_loader is not None:
            settings_loader()  # a wrong setup is named before the missing terminal
        print("kiosk: this program needs an interactive terminal (over SSH: ssh -t).", file=sys.stderr)
        return EXIT_USAGE
    _log_to_file(settings.kiosk.log_file)
    if make_app is None:
        from kiosk.app import KioskApp

        app: App[None] = KioskApp(settings, service_factory=service_factory, settings_loader=settings_loader)
    else:
        app = make_app(settings)
    app.run(mouse=settings.kiosk.mouse)
    startup_error = getattr(app, "startup_error", None)
    if startup_error is not None:
        raise startup_error  # main() prints a ConfigError and exits 2
    return app.return_code or 0


def _log_to_file(path: Path | None) -> None:
    """The application log (tracebacks, details behind an error reference).
    Never the terminal: stderr output would land on the kiosk's screen."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler: logging.Handler = logging.NullHandler()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError:
            if Path("/dev/log").exists():
                from logging.handlers import SysLogHandler

                handler = SysLogHandler(address="/dev/log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"))
    root.addHandler(handler)


# --- demo ------------------------------------------------------------------------------


#: The demo's title (kiosk.title, changed) in the other shipped languages.
DEMO_TITLES = {
    "fr": "Libre-service mot de passe - DÉMO",
    "de": "Kennwort-Selbstbedienung - DEMO",
    "zh_Hans": "密码自助服务 - 演示",
}


def demo_settings(workdir: Path, *, locked: bool = False, showcase: bool = False) -> Settings:
    """Settings for the pretend directory, with the store and logs in ``workdir``.
    ``showcase`` (``kiosk demo``): every action and every shipped language, to
    try everything; without it (the tests that build on it), English and the
    first round's actions."""
    from kiosk.backend.directory.demo import DEMO_BASE_DN, DEMO_DNS, DEMO_NETBIOS
    from kiosk.config.loading import settings_from

    languages = list(LANGUAGES) if showcase else [SOURCE_LANGUAGE]
    features: dict[str, bool] = {"activate": True}  # erin is new: activate her account
    sections: dict[str, Any] = {}
    if showcase:
        features |= {"change": True, "totp": True}
        sections["factors"] = {"totp_key_file": str(workdir / "kiosk_totp_key")}
    return settings_from(
        {
            "directory": {
                "kind": "demo",
                "domains": [{"netbios": DEMO_NETBIOS, "dns": DEMO_DNS, "base_dn": DEMO_BASE_DN}],
                "default_domain": DEMO_NETBIOS,
            },
            "features": features,
            "store": {"url": f"sqlite://{workdir / 'kiosk.db'}"},
            "audit": {"file": str(workdir / "audit.jsonl")},
            "kiosk": {
                "title": "Password self-service - DEMO",
                "lockdown": locked,
                "log_file": str(workdir / "kiosk.log"),
                "terminal_id": "demo",
                "languages": languages,
                "texts": {code: {"banner.title": title} for code, title in DEMO_TITLES.items() if code in languages},
            },
            **sections,
        }
    )


def demo_service_factory(settings: Settings) -> Callable[[], SelfService]:
    def build() -> SelfService:
        from kiosk.backend.directory.demo import DemoDirectory
        from kiosk.backend.demo_seed import seed_demo
        from kiosk.backend.wiring import build_service

        directory = DemoDirectory()
        service = build_service(settings, directory=directory)
        seed_demo(service, directory)
        return service

    return build


def _cmd_demo(args: argparse.Namespace) -> int:
    if args.lab:
        from kiosk.lab import lab_settings

        settings = lab_settings(locked=args.locked)
        return run_app(settings)
    with tempfile.TemporaryDirectory(prefix="kiosk-demo-") as workdir:
        settings = demo_settings(Path(workdir), locked=args.locked, showcase=True)
        code = run_app(settings, demo_service_factory(settings))
        print(f"kiosk demo: finished; the demo's audit log was {Path(workdir) / 'audit.jsonl'} (now removed).")
        return code


# --- check -------------------------------------------------------------------------------


def _cmd_check(args: argparse.Namespace) -> int:
    from kiosk.check import print_checks, run_checks
    from kiosk.config.loading import load_settings, preflight

    try:
        settings = load_settings(args.config)
    except Exception as exc:  # noqa: BLE001 - a config problem is the check's first finding
        print(f"FAIL config: {exc}")
        return EXIT_FAILURE
    try:
        preflight(settings)
    except Exception as exc:  # noqa: BLE001 - likewise
        print(f"FAIL config: {exc}")
        return EXIT_FAILURE
    results = run_checks(settings, test_account=args.test_account)
    if args.json:
        import json

        print(json.dumps([{"check": r.name, "ok": r.ok, "state": r.state, "message": r.message} for r in results], indent=2))
        return EXIT_OK if all(r.ok for r in results) else EXIT_FAILURE
    return print_checks(results)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
