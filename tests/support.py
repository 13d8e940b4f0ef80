"""Small helpers shared by tests (importable as ``support``: tests/ is on sys.path)."""

from __future__ import annotations

from kiosk.config import AnswerHashSettings, DirectorySettings, Settings

#: argon2id at its cheapest: the tests check behaviour, bench/ measures cost.
CHEAP_HASHING = AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1)


def fast(settings: Settings, **sections: dict) -> Settings:
    """``settings`` with cheap hashing, no throttle delay, and section overrides."""
    update: dict = {"answers": CHEAP_HASHING}
    throttle = {"delay_seconds": 0.0, **sections.pop("throttle", {})}
    update["throttle"] = settings.throttle.model_copy(update=throttle)
    for name, values in sections.items():
        update[name] = getattr(settings, name).model_copy(update=values)
    return settings.model_copy(update=update)


def lab_directory_settings(lab, **changes) -> DirectorySettings:
    """DirectorySettings for the Samba lab (``tests/lab.py`` Lab), as the service account."""
    values = dict(
        urls=[lab.url],
        ca_file=lab.ca_file,
        tls_server_name=lab.tls_server_name,
        connect_timeout_seconds=2,
        timeout_seconds=10,
        service_user=lab.svc_user,
        service_password=lab.svc_password,
        domains=[{"netbios": lab.netbios, "dns": lab.dns_domain, "base_dn": lab.base_dn}],
        default_domain=lab.netbios,
    )
    values.update(changes)
    return DirectorySettings(**values)
