"""Turn what a person typed into an ``Identity``: sam, DOMAIN\\sam or sam@dns.

Pure and total: any text gives an Identity or ``None`` (empty, impossible
names). The result is only a lookup key; directories escape it themselves.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from kiosk.backend.model import Identity

#: Characters AD never allows in a sAMAccountName ("/\[]:;|=,+*?<>@" and quotes).
_SAM_FORBIDDEN = set('"/\\[]:;|=,+*?<>@')
MAX_TYPED = 256  # a UPN is at most 256 characters in AD


def parse_identity(
    typed: str,
    domains: Iterable[tuple[str, str]],
    default_domain: str,
) -> Identity | None:
    """``domains`` holds (NetBIOS, DNS) pairs; matching is case-insensitive.

    ``DOMAIN\\sam`` accepts the NetBIOS or the DNS name of a known domain;
    ``sam@suffix`` is kept as a UPN (any suffix: AD allows alternative UPN
    suffixes) and searched in the domain whose DNS name matches, else the default.
    """
    text = unicodedata.normalize("NFC", typed).strip()
    # Cs: lone surrogates (e.g. undecodable argv bytes) cannot be encoded to send to a directory.
    if not text or len(text) > MAX_TYPED or any(unicodedata.category(c) in ("Cc", "Cs") for c in text):
        return None
    by_netbios = {netbios.upper(): netbios.upper() for netbios, _ in domains}
    by_dns = {dns.lower(): netbios.upper() for netbios, dns in domains}
    if "\\" in text:
        prefix, _, sam = text.partition("\\")
        domain = by_netbios.get(prefix.upper()) or by_dns.get(prefix.lower())
        if domain is None or not _valid_sam(sam):
            return None
        return Identity(typed=typed, domain=domain, sam=sam)
    if "@" in text:
        local, _, suffix = text.rpartition("@")
        if not local or not suffix or "@" in local:
            return None
        domain = by_dns.get(suffix.lower(), default_domain.upper())
        return Identity(typed=typed, domain=domain, upn=f"{local}@{suffix}")
    if not _valid_sam(text):
        return None
    return Identity(typed=typed, domain=default_domain.upper(), sam=text)


def _valid_sam(sam: str) -> bool:
    # AD's limit is 20 characters for user objects (the schema allows 256).
    return 0 < len(sam) <= 64 and not (set(sam) & _SAM_FORBIDDEN) and not sam.endswith(".")
