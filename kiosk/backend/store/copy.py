"""Move a site from one store to another (``kiosk store copy``), e.g. from the
SQLite file of one kiosk host to the PostgreSQL database of several.

Idempotent: running it again adds nothing twice and loses nothing. An
enrollment already at the destination is replaced only by a newer one from the
source (someone who enrolled again after a first copy keeps their new answers);
a later ``last_used_at`` is carried over.

Site secrets are copied so the decoy questions shown for unknown names stay the
same after the move: if they changed, someone who noted a name's questions
before and after could tell it was never enrolled. A destination that already
has a different secret keeps it (its kiosks have been showing its decoys) and
the report names it.

The rest of a site's state comes along too, each merged so a re-run changes
nothing:

- **throttle holds** (an account held past the consecutive-failure cap until
  someone clears it): added where the destination has none for the key;
- **authenticator apps** (TOTP): the newer enrollment wins; for the same one,
  the later accepted time step (a code used at the source is not accepted
  again) and only the recovery codes unused at both. The secrets are copied
  encrypted as they are: the destination's kiosks need the same key file
  (``[factors] totp_key_file``), as they need the answers' pepper
  (``kiosk_answer_pepper``) for the answers;
- **reminders sent**: the later time of each (no one is reminded twice);
- **activation codes**: the one that expires later (issued later);
- **notices waiting in the outbox**, with their attempts and due time, unless
  one with the same Message-ID is there. Flush the source's outbox first
  (``kiosk notify flush``) where it can be: a notice copied, sent by the
  destination and copied again would be sent twice.

Failure counters are NOT copied. They are short-lived (the throttle's window
and lock period), a re-run could not tell a copied failure from a new one (the
ids differ between stores) and would count it twice, and a site switches
stores with its kiosks stopped: the directory's own lockout still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dataclasses import replace

from kiosk.backend.model import TotpEnrollment
from kiosk.backend.store.base import EnrollmentStore


@dataclass
class CopyReport:
    added: int = 0
    replaced: int = 0  # the source's was newer
    unchanged: int = 0  # the same, or the destination's newer (kept)
    secrets_added: list[str] = field(default_factory=list)
    secrets_differing: list[str] = field(default_factory=list)  # kept the destination's
    at_destination: int = 0
    holds_added: int = 0
    totp_added: int = 0
    totp_updated: int = 0  # replaced by a newer one, or a later step / fewer recovery codes
    reminders_moved: int = 0
    activation_codes_kept: int = 0
    notices_added: int = 0

    @property
    def read(self) -> int:
        return self.added + self.replaced + self.unchanged


def copy_store(source: EnrollmentStore, destination: EnrollmentStore) -> CopyReport:
    report = CopyReport()
    for name, value in source.site_secrets().items():
        had = destination.site_secrets().get(name)
        kept = destination.adopt_site_secret(name, value)
        if had is None and kept == value:
            report.secrets_added.append(name)
        elif kept != value:
            report.secrets_differing.append(name)
    for enrollment in source.enrollments():
        there = destination.get(enrollment.account_guid)
        if there is None:
            destination.put(enrollment)
            report.added += 1
        elif enrollment.enrolled_at > there.enrolled_at:
            destination.put(enrollment)
            report.replaced += 1
        else:
            report.unchanged += 1
            if (
                enrollment.enrolled_at == there.enrolled_at
                and enrollment.last_used_at is not None
                and (there.last_used_at is None or enrollment.last_used_at > there.last_used_at)
            ):
                destination.mark_used(enrollment.account_guid, enrollment.last_used_at)
    report.at_destination = destination.count()
    for key, at in source.holds().items():
        report.holds_added += destination.adopt_hold(key, at)
    for totp in source.totps():
        app = destination.totp(totp.account_guid)
        merged = _merged_totp(totp, app)
        if merged is not None:
            destination.put_totp(merged)
            report.totp_added += app is None
            report.totp_updated += app is not None
    for guid, kind, when in source.reminders():
        report.reminders_moved += destination.adopt_reminder(guid, kind, when)
    for guid, digest, expires_at, issued_by in source.activation_codes():
        report.activation_codes_kept += destination.adopt_activation_code(guid, digest, expires_at, issued_by)
    for notice, due_at in source.outbox():
        report.notices_added += destination.adopt_notice(notice, due_at)
    return report


def _merged_totp(source: TotpEnrollment, there: TotpEnrollment | None) -> TotpEnrollment | None:
    """What the destination should keep of the person's authenticator app, or
    None when what it has is right already."""
    if there is None or source.enrolled_at > there.enrolled_at:
        return source
    if source.enrolled_at < there.enrolled_at or source.secret != there.secret:
        return None  # the destination's is newer (enrolled again there): keep it
    step = max(source.last_step, there.last_step)
    unused = tuple(code for code in there.recovery if code in source.recovery)
    if step == there.last_step and unused == there.recovery:
        return None
    return replace(there, last_step=step, recovery=unused)
