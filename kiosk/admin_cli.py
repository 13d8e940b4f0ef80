"""Administrators' commands: questions, enrollment, audit, store. Plain output, or --json.

Each command is a thin face on kiosk.backend.admin; none needs Textual.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from kiosk.backend.errors import ConfigError, KioskError
from kiosk.config import Settings
from kiosk.config.loading import load_settings
from kiosk.config.sources import config_path, questions_path

EXIT_OK, EXIT_FAILURE = 0, 1


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def _emit(args: argparse.Namespace, payload: object, text: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if getattr(args, "json", False) else text)


# --- questions ---------------------------------------------------------------------------


def questions_export(args: argparse.Namespace) -> int:
    from kiosk.config.questions_file import export_questions

    text = export_questions(_settings(args).questions)
    if args.file == "-":
        sys.stdout.write(text)
    else:
        _write_atomically(Path(args.file), text)
        print(f"wrote {len(_settings(args).questions.questions)} questions to {args.file}")
    return EXIT_OK


def questions_import(args: argparse.Namespace) -> int:
    """Validate a questions file, show what changes, and (unless --dry-run)
    install it as questions.toml beside the config file."""
    from kiosk.config.questions_file import export_questions, import_questions

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {args.file}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{args.file} is not UTF-8 text") from None
    new = import_questions(text)
    settings = _settings(args)
    old_ids = {q.id: q for q in settings.questions.questions}
    new_ids = {q.id: q for q in new.questions}
    added = sorted(set(new_ids) - set(old_ids))
    removed = sorted(set(old_ids) - set(new_ids))
    edited = sorted(i for i in set(new_ids) & set(old_ids) if new_ids[i] != old_ids[i])
    in_use = _enrollments_using(settings, set(removed)) if removed else 0
    summary = {
        "file": args.file,
        "questions": len(new.questions),
        "answers_needed": sum(1 if s.question else s.pick for s in new.questionnaire),
        "added": added,
        "removed": removed,
        "edited": edited,
        "enrollments_using_removed": in_use,
        "dry_run": args.dry_run,
    }
    lines = [
        f"{args.file}: valid, {summary['questions']} questions, "
        f"{summary['answers_needed']} answers per person",
        f"  added:   {', '.join(added) or '-'}",
        f"  removed: {', '.join(removed) or '-'}",
        f"  edited:  {', '.join(edited) or '-'}",
    ]
    if in_use:
        lines.append(f"  {in_use} enrolled people use a removed question and will need to enroll again")
    target = questions_path(config_path(args.config, os.environ))
    if args.dry_run:
        lines.append("dry run: nothing written")
    else:
        current = _read_config_data(config_path(args.config, os.environ))
        if "questions" in current:
            raise ConfigError(
                f"{config_path(args.config, os.environ)} has its own [questions] section; remove it "
                f"first, then import again (imported questions go to {target})"
            )
        _write_atomically(target, export_questions(new))
        lines.append(f"installed as {target}")
    _emit(args, summary, "\n".join(lines))
    return EXIT_OK


def _read_config_data(path: Path) -> dict:
    import tomllib

    with path.open("rb") as handle:
        return tomllib.load(handle)


def _enrollments_using(settings: Settings, question_ids: set[str]) -> int:
    from kiosk.backend.store import open_store

    store = open_store(settings.store.url)
    try:
        return sum(
            1 for e in store.enrollments() if any(a.question_id in question_ids for a in e.answers)
        )
    finally:
        store.close()


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write {path}: {exc.strerror}") from None


# --- enrollment --------------------------------------------------------------------------


def enrollment_revoke(args: argparse.Namespace) -> int:
    from kiosk.backend.admin import revoke
    from kiosk.backend.audit import AuditLog
    from kiosk.backend.directory import open_directory
    from kiosk.backend.identity import parse_identity
    from kiosk.backend.store import open_store

    settings = _settings(args)
    domains = [(d.netbios, d.dns) for d in settings.directory.domains]
    identity = parse_identity(args.user, domains, settings.directory.effective_default_domain)
    directory = open_directory(settings.directory)
    store = open_store(settings.store.url)
    try:
        account = directory.find_account(identity) if identity else None
        if account is None:
            _emit(args, {"user": args.user, "found": False}, f"no account matches {args.user!r}")
            return EXIT_FAILURE
        had = revoke(store, AuditLog(settings.audit), account.guid, _operator(), account.qualified_name)
    finally:
        directory.close()
        store.close()
    text = (
        f"revoked the enrollment of {account.qualified_name}: they must enroll again"
        if had
        else f"{account.qualified_name} was not enrolled; nothing to revoke"
    )
    _emit(args, {"user": account.qualified_name, "found": True, "revoked": had}, text)
    return EXIT_OK


def activation_issue(args: argparse.Namespace) -> int:
    """A new activation code for USER, printed once (kept only as a keyed digest)."""
    from kiosk.backend.activation import Activation
    from kiosk.backend.wiring import open_backend

    settings = _settings(args)
    backend = open_backend(settings)
    try:
        activation = Activation(settings, backend)
        identity = activation._identity(args.user)
        account = backend.directory.find_account(identity) if identity else None
        if account is None:
            _emit(args, {"user": args.user, "found": False}, f"no account matches {args.user!r}")
            return EXIT_FAILURE
        try:
            code, expires_at = activation.issue_code(account, _operator())
        except KioskError as exc:
            reason = getattr(exc, "detail", "") or str(exc)
            _emit(
                args,
                {"user": account.qualified_name, "found": True, "issued": False, "reason": reason},
                f"{account.qualified_name} cannot activate ({reason}); no code issued",
            )
            return EXIT_FAILURE
    finally:
        backend.close()
    when = expires_at.astimezone().strftime("%Y-%m-%d %H:%M %Z")
    text = (
        f"activation code for {account.qualified_name}: {code}\n"
        f"valid until {when}, once; give it to the person by a channel you trust (it is not shown again)"
    )
    _emit(
        args,
        {"user": account.qualified_name, "found": True, "issued": True, "code": code, "expires_at": expires_at.isoformat()},
        text,
    )
    return EXIT_OK


REPORT_COLUMNS = ["account", "display_name", "state", "enrolled_at", "last_used_at", "can_verify"]


def enrollment_report(args: argparse.Namespace) -> int:
    """Among the people allowed to use self-service: who is enrolled, who
    should enroll again (questions changed since), who has not enrolled."""
    from kiosk.backend.admin import enrollment_status
    from kiosk.backend.directory import open_directory
    from kiosk.backend.eligibility import check_eligibility
    from kiosk.backend.questions import Questionnaire
    from kiosk.backend.store import open_store

    settings = _settings(args)
    questionnaire = Questionnaire.from_settings(settings.questions)
    directory = open_directory(settings.directory)
    store = open_store(settings.store.url)
    progress = _Progress("reading accounts", enabled=sys.stderr.isatty() and not args.quiet)
    rows: list[dict] = []
    try:
        for account in directory.accounts():
            progress.step()
            if not check_eligibility(account, settings.eligibility, operator_groups=settings.helpdesk.operator_groups).allowed:
                continue
            status = enrollment_status(store, questionnaire, account.guid)
            rows.append(
                {
                    "account": account.qualified_name,
                    "display_name": account.display_name,
                    "state": status.state,
                    "enrolled_at": status.enrolled_at.isoformat(timespec="seconds") if status.enrolled_at else "",
                    "last_used_at": status.last_used_at.isoformat(timespec="seconds") if status.last_used_at else "",
                    "can_verify": status.can_verify,
                }
            )
    finally:
        progress.done()
        directory.close()
        store.close()
    rows.sort(key=lambda row: (row["state"], row["account"].casefold()))
    counts = {state: sum(1 for r in rows if r["state"] == state) for state in ("enrolled", "partial", "not_enrolled")}
    if args.format == "json":
        print(json.dumps({"counts": counts, "accounts": rows}, indent=2))
    elif args.format == "csv":
        sys.stdout.write(csv_text(rows, REPORT_COLUMNS))
    else:
        print(_table(rows, ["account", "display_name", "state", "enrolled_at", "last_used_at"]))
        print(
            f"\n{len(rows)} eligible: {counts['enrolled']} enrolled, {counts['partial']} should enroll again, "
            f"{counts['not_enrolled']} not enrolled"
        )
    return EXIT_OK


def _table(rows: list[dict], columns: list[str]) -> str:
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns).rstrip()]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


class _Progress:
    """A count on stderr while walking many accounts (stdout stays clean for CSV/JSON)."""

    def __init__(self, label: str, *, enabled: bool) -> None:
        self.label, self.enabled, self.count, self._shown = label, enabled, 0, 0.0

    def step(self) -> None:
        self.count += 1
        now = time.monotonic()
        if self.enabled and now - self._shown > 0.1:
            self._shown = now
            print(f"\r{self.label}: {self.count}", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(f"\r{self.label}: {self.count} done", file=sys.stderr, flush=True)


def _operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}"


# --- throttle ----------------------------------------------------------------------------


def _throttled_person(args: argparse.Namespace, run) -> int:
    """Resolve USER as the kiosk does (``SelfService.begin``: the account's
    objectGUID, else the keyed name) and ``run(backend, visit)`` on it."""
    from kiosk.backend.service import SelfService
    from kiosk.backend.wiring import open_backend

    settings = _settings(args)
    service = SelfService(settings, open_backend(settings))
    try:
        visit = service.begin(args.user, "admin")
        visit.operator = _operator()
        return run(service.backend, visit)
    finally:
        service.close()


def _throttle_payload(visit, status) -> dict:
    return {
        "user": visit.audit_name,
        "found": visit.account is not None,
        "failures_in_window": status.failures,
        "locked_until": status.locked_until,
        "consecutive_failures": status.consecutive_failures,
        "locked_for_good": status.locked_for_good,
    }


def _when(moment: float) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def throttle_status(args: argparse.Namespace) -> int:
    """USER's failed attempts: in the window, consecutive, and any lock."""

    def run(backend, visit) -> int:
        status = backend.throttle.status(visit.throttle_key)
        who = visit.audit_name if visit.account is not None else f"{args.user!r} (no such account; {visit.audit_name})"
        if status.locked_for_good:
            lock = "held until cleared (kiosk throttle clear)"
        elif status.locked_until is not None:
            lock = f"locked until {_when(status.locked_until)}"
        else:
            lock = "not locked"
        text = (
            f"{who}: {status.failures} failed attempt(s) in the window, "
            f"{status.consecutive_failures} since the last success; {lock}"
        )
        _emit(args, _throttle_payload(visit, status), text)
        return EXIT_OK

    return _throttled_person(args, run)


def throttle_clear(args: argparse.Namespace) -> int:
    """Forget USER's failed attempts and any lock, the hold for good included. Audited."""

    def run(backend, visit) -> int:
        before = backend.throttle.status(visit.throttle_key)
        try:
            backend.throttle.clear(visit.throttle_key)
        except KioskError as exc:
            backend.audit.record(
                "throttle_clear", outcome="error", account=visit.audit_name, operator=visit.operator,
                terminal=visit.terminal, reason=getattr(exc, "detail", "") or str(exc),
            )
            raise
        backend.audit.record(
            "throttle_clear",
            outcome="success",
            account=visit.audit_name,
            operator=visit.operator,
            terminal=visit.terminal,
            reason=f"{before.consecutive_failures} consecutive failure(s)"
            + ("; was held until cleared" if before.locked_for_good else ""),
        )
        who = visit.audit_name if visit.account is not None else f"{args.user!r} (no such account)"
        text = f"cleared the failed attempts of {who}: {before.consecutive_failures} since the last success" + (
            "; it was held until cleared" if before.locked_for_good else ""
        )
        payload = _throttle_payload(visit, before) | {"cleared": True}
        _emit(args, payload, text)
        return EXIT_OK

    return _throttled_person(args, run)


# --- audit -------------------------------------------------------------------------------


def _event_line(event: dict) -> str:
    parts = [str(event.get("time", "?")), str(event.get("event", "?")), str(event.get("outcome", "?"))]
    for key in ("account", "terminal", "operator", "reason", "reference"):
        if event.get(key):
            parts.append(f"{key}={event[key]}")
    return "  ".join(parts)


def audit_tail(args: argparse.Namespace) -> int:
    from kiosk.backend.audit import read_events

    path = _settings(args).audit.file
    if path is None:
        raise ConfigError("audit.file is not set: there is no audit file to read")
    try:
        events = list(read_events(path))[-args.lines :] if args.lines else []
    except FileNotFoundError:
        events = []
        if not args.follow:
            print(f"no audit events yet ({path} does not exist)", file=sys.stderr)
            return EXIT_OK
    except OSError as exc:
        raise ConfigError(f"cannot read the audit log {path}: {exc.strerror}") from None
    _print_events(args, events)
    if args.follow:
        _follow(args, Path(path))
    return EXIT_OK


def _print_events(args: argparse.Namespace, events: Iterable[dict]) -> None:
    for event in events:
        print(json.dumps(event) if args.json else _event_line(event), flush=True)


def _follow(args: argparse.Namespace, path: Path) -> None:
    position = path.stat().st_size if path.exists() else 0
    pending = ""
    while True:
        time.sleep(0.5)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            continue
        if size < position:  # rotated or truncated
            position = 0
        if size == position:
            continue
        with path.open(encoding="utf-8", errors="replace") as handle:
            handle.seek(position)
            pending += handle.read()
            position = handle.tell()
        *complete, pending = pending.split("\n")
        events = []
        for line in complete:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        _print_events(args, (e for e in events if isinstance(e, dict)))


def csv_text(rows: list[dict], columns: list[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# --- store -------------------------------------------------------------------------------


def _configured_store_url(args: argparse.Namespace, given: str | None) -> str:
    return given if given else _settings(args).store.url


def store_migrate(args: argparse.Namespace) -> int:
    """Create or migrate the schema of the configured store (or --url); print the version."""
    from kiosk.backend.store import open_store
    from kiosk.backend.store.common import redact_url

    url = _configured_store_url(args, args.url)
    looked_at = open_store(url, migrate=False)
    try:
        before = looked_at.schema_version()
    finally:
        looked_at.close()
    store = open_store(url)
    try:
        after = store.schema_version()
    finally:
        store.close()
    where = redact_url(url)
    text = (
        f"{where}: schema version {after}, nothing to do"
        if before == after
        else f"{where}: schema version {after} (was {before})"
    )
    _emit(args, {"store": where, "schema_version": after, "was": before}, text)
    return EXIT_OK


def store_copy(args: argparse.Namespace) -> int:
    """Copy enrollments, site secrets, authenticator apps, holds, reminders,
    activation codes and waiting notices from one store to another (idempotent)."""
    from kiosk.backend.store import open_store
    from kiosk.backend.store.common import redact_url
    from kiosk.backend.store.copy import copy_store

    target = _configured_store_url(args, args.to)
    if args.source == target:
        raise ConfigError("store copy: --from and --to name the same store")
    source = open_store(args.source)
    try:
        destination = open_store(target)
        try:
            report = copy_store(source, destination)
        finally:
            destination.close()
    finally:
        source.close()
    lines = [f"from {redact_url(args.source)} to {redact_url(target)}"]
    if report.secrets_added:
        lines.append(f"  site secrets copied: {', '.join(report.secrets_added)}")
    for name in report.secrets_differing:
        lines.append(
            f"  site secret {name!r} differs at the destination: kept the destination's "
            "(decoy questions there stay as its kiosks have shown them)"
        )
    lines.append(
        f"also: {report.totp_added} authenticator apps added, {report.totp_updated} brought up to date; "
        f"{report.holds_added} throttle holds, {report.reminders_moved} reminders, "
        f"{report.activation_codes_kept} activation codes, {report.notices_added} waiting notices"
    )
    lines.append(
        f"copied {report.read} enrollments: {report.added} added, {report.replaced} replaced by a newer one, "
        f"{report.unchanged} already there; the destination now holds {report.at_destination}"
    )
    payload = {
        "from": redact_url(args.source),
        "to": redact_url(target),
        "read": report.read,
        "added": report.added,
        "replaced": report.replaced,
        "unchanged": report.unchanged,
        "secrets_added": report.secrets_added,
        "secrets_differing": report.secrets_differing,
        "at_destination": report.at_destination,
        "totp_added": report.totp_added,
        "totp_updated": report.totp_updated,
        "holds_added": report.holds_added,
        "reminders_moved": report.reminders_moved,
        "activation_codes_kept": report.activation_codes_kept,
        "notices_added": report.notices_added,
    }
    _emit(args, payload, "\n".join(lines))
    return EXIT_OK


__all__ = [
    "KioskError",
    "audit_tail",
    "enrollment_report",
    "enrollment_revoke",
    "questions_export",
    "questions_import",
    "remind",
    "store_copy",
    "store_migrate",
    "throttle_clear",
    "throttle_status",
]


# --- notices ----------------------------------------------------------------------------------


def notify_flush(args: argparse.Namespace) -> int:
    """Send the notices waiting in the store's outbox (kiosk-notify.timer runs
    this); exit 1 when some could not be sent (they are retried later)."""
    from kiosk.backend.audit import AuditLog
    from kiosk.backend.store import open_store
    from kiosk.backend.wiring import open_notices

    settings = _settings(args)
    store = open_store(settings.store.url)
    try:
        notices = open_notices(settings, store, AuditLog(settings.audit))
        if notices is None:
            waiting = store.notices_waiting()
            _emit(args, {"enabled": False, "waiting": waiting},
                  f"mail is off (mail.enabled = false): nothing sent, {waiting} waiting")
            return EXIT_OK
        result = notices.flush()
        waiting = store.notices_waiting()
    finally:
        store.close()
    _emit(
        args,
        {"enabled": True, "sent": result.sent, "retry": result.retried, "given_up": result.given_up, "waiting": waiting},
        f"sent {result.sent}, to retry {result.retried}, given up {result.given_up}; {waiting} waiting in the outbox",
    )
    return EXIT_FAILURE if result.retried or result.given_up else EXIT_OK


# --- reminders -------------------------------------------------------------------------------


def remind(args: argparse.Namespace) -> int:
    """Queue the reminders due now (kiosk-remind.timer runs this) and try to send
    them at once; with --dry-run, list who would get what, changing nothing."""
    from kiosk.backend.reminders import Reminders
    from kiosk.backend.wiring import open_backend

    settings = _settings(args)
    off = (
        "reminders are off (reminders.enabled = false)" if not settings.reminders.enabled
        else "mail is off (mail.enabled = false)" if not settings.mail.enabled
        else ""
    )
    if off and not args.dry_run:
        _emit(args, {"enabled": False, "queued": 0}, f"{off}: nothing queued")
        return EXIT_OK
    backend = open_backend(settings)
    progress = _Progress("reading accounts", enabled=sys.stderr.isatty() and not args.quiet)

    def accounts():
        for account in backend.directory.accounts():
            progress.step()
            yield account

    flushed = None
    try:
        try:
            result = Reminders(settings, backend).run(dry_run=args.dry_run, accounts=accounts())
        finally:
            progress.done()
        if not args.dry_run and result.due and backend.notices is not None:
            flushed = backend.notices.flush()
    finally:
        backend.close()
    rows = [
        {
            "account": r.account,
            "kind": r.kind,
            "notice": r.event,
            "recipient": r.recipient,
            "expires": r.expires.isoformat(timespec="minutes") if r.expires else "",
        }
        for r in sorted(result.due, key=lambda r: (r.kind, r.account.casefold()))
    ]
    payload: dict = {
        "enabled": not off,
        "dry_run": args.dry_run,
        "checked": result.checked,
        "due": rows,
        "recent": result.recent,
        "no_address": result.no_address,
        "held_back": result.held_back,
    }
    verb = "would remind" if args.dry_run else "queued"
    lines = [_table(rows, ["account", "kind", "recipient", "expires"])] if rows else []
    summary = (
        f"{verb} {len(rows)} of {result.checked} eligible "
        f"({sum(1 for r in rows if r['kind'] == 'enroll')} to enroll, "
        f"{sum(1 for r in rows if r['kind'] == 'expiry')} password expiry"
        + (f", {factor} to set up an authenticator app" if (factor := sum(1 for r in rows if r["kind"] == "factor")) else "")
        + "); "
        f"{result.recent} reminded within the interval, {result.no_address} without a mail address"
    )
    if result.held_back:
        summary += f", {result.held_back} left for the next run (reminders.max_per_run)"
    lines.append(summary)
    if flushed is not None:
        payload |= {"sent": flushed.sent, "retry": flushed.retried}
        lines.append(f"sent {flushed.sent}, to retry {flushed.retried} (kiosk notify flush retries them)")
    if off:
        lines.append(f"dry run; {off}, so a real run queues nothing")
    elif args.dry_run:
        lines.append("dry run: nothing queued")
    _emit(args, payload, "\n".join(lines))
    return EXIT_OK
