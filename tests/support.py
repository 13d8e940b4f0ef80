"""Small helpers shared by tests (importable as ``support``: tests/ is on sys.path)."""

from __future__ import annotations

import dataclasses

from kiosk.config import AnswerHashSettings, DirectorySettings, Settings
from kiosk.config.validation import validate

#: argon2id at its cheapest: the tests check behaviour, bench/ measures cost.
CHEAP_HASHING = AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1)


def fast(settings: Settings, **sections: dict) -> Settings:
    """``settings`` with cheap hashing, no throttle delay, and section overrides."""
    update: dict = {"answers": CHEAP_HASHING}
    sections["throttle"] = {"delay_seconds": 0.0, "identify_seconds": 0.0, **sections.get("throttle", {})}
    for name, values in sections.items():
        update[name] = changed(getattr(settings, name), **values)
    return dataclasses.replace(settings, **update)


def changed(section, **values):
    """``section`` with some values changed, validated as the config file's would be."""
    fields = {f.name: getattr(section, f.name) for f in dataclasses.fields(section)}
    return validate(type(section), {**fields, **values}, "test settings")


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
    return validate(DirectorySettings, values, "lab settings")


#: The demo directory's section of a config file.
DEMO_DIRECTORY_TOML = """
[directory]
kind = "demo"
default_domain = "DEMO"
[[directory.domains]]
netbios = "DEMO"
dns = "demo.example"
base_dn = "DC=demo,DC=example"
"""

#: The tail of every test's config file: the cheapest argon2id a file may ask
#: for (OWASP's floor), no growing delay, the store and audit log in {dir}.
CHEAP_LOCAL_TOML = """
[answers]
time_cost = 5
memory_cost_kib = 7168
parallelism = 1

[throttle]
delay_seconds = 0
identify_seconds = 0

[store]
url = "sqlite://{dir}/kiosk.db"

[audit]
file = "{dir}/audit.jsonl"
"""
