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

Failure counters are NOT copied. They are short-lived (the throttle's window
and lock period), a re-run could not tell a copied failure from a new one (the
ids differ between stores) and would count it twice, and a site switches
stores with its kiosks stopped: the directory's own lockout still applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.backend.store.base import EnrollmentStore


@dataclass
class CopyReport:
    added: int = 0
    replaced: int = 0  # the source's was newer
    unchanged: int = 0  # the same, or the destination's newer (kept)
    secrets_added: list[str] = field(default_factory=list)
    secrets_differing: list[str] = field(default_factory=list)  # kept the destination's
    at_destination: int = 0

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
    return report
