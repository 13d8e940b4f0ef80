"""Turn what a person typed into an ``Identity``: sam, DOMAIN\\sam or sam@dns.

Pure and total: any text gives an Identity or ``None`` (empty, impossible
names). The result is only a lookup key; directories escape it themselves.

One normalisation for every use of a typed name (``normalise_name``: NFKC,
trimmed), and one key for everything derived from it (``name_key``: throttle
rows, decoy questions, the audit's ``unknown:`` digest). The key is an HMAC
under a site secret of the name's canonical form, so forms that would reach
the same account if it existed (``zed``, ``CORP\\zed``, ``zed@corp.example``)
share it, text that names no account the directory could find
(``NOSUCHDOMAIN\\zed``, ``zed@elsewhere``) is keyed by all of it, and what was
typed (often a password) is never kept as typed, nor as an unkeyed digest.
"""

from __future__ import annotations

import hashlib
import hmac
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
    text = normalise_name(typed)
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


#: How much of what was typed is keyed (it is cut before anything else).
_MAX_KEYED = 4 * MAX_TYPED


def normalise_name(typed: str) -> str:
    """The one normalisation of a typed name: NFKC (composed and decomposed
    accents, full-width and ordinary letters agree) and trimmed. What the
    directory is asked for and what is keyed are both made from this form."""
    return unicodedata.normalize("NFKC", typed[:_MAX_KEYED]).strip()


def canonical_name(typed: str, domains: Iterable[tuple[str, str]], default_domain: str) -> str:
    """The text a typed name is keyed by (case-insensitive, as AD's names are).

    ``sam``, ``DOMAIN\\sam`` and ``sam@dns`` of a configured domain give
    ``DOMAIN\\sam``; a UPN with another suffix gives ``upn:name@suffix``;
    anything ``parse_identity`` refuses (an unknown domain, a forbidden
    character, a password) is keyed by its whole normalised text.
    """
    domains = tuple(domains)
    identity = parse_identity(typed, domains, default_domain)
    if identity is None:
        return "text:" + normalise_name(typed).lower()
    if identity.sam is not None:
        return f"sam:{identity.domain}\\{identity.sam}".lower()
    assert identity.upn is not None
    local, _, suffix = identity.upn.rpartition("@")
    if suffix.lower() in {dns.lower() for _, dns in domains}:
        return f"sam:{identity.domain}\\{local}".lower()
    return f"upn:{identity.upn}".lower()


def name_key(secret: bytes, typed: str, domains: Iterable[tuple[str, str]], default_domain: str) -> str:
    """The key of everything derived from a typed name that names no account:
    HMAC-SHA256 under the site ``secret`` of ``canonical_name``, in hex."""
    canonical = canonical_name(typed, domains, default_domain)
    return hmac.new(secret, b"kiosk-name\x00" + canonical.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
