"""Value codecs: AD's wire values to Python and back (FILETIME, intervals,
GUIDs, SIDs, unicodePwd, DNs as keys), and search filters built from what a
person typed. Values are read from ``raw_attributes``: without a schema ldap3's
own formatting varies by attribute, and the raw bytes are exact."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from ldap3.utils.conv import escape_bytes, escape_filter_chars

from kiosk.backend.directory.ad.constants import PRIVILEGED_BUILTIN_RIDS, PRIVILEGED_DOMAIN_RIDS
from kiosk.backend.model import Identity

#: FILETIME "never" (accountExpires, msDS-UserPasswordExpiryTimeComputed) and
#: the interval "forever" (maxPwdAge, lockoutDuration).
NEVER = 0x7FFFFFFFFFFFFFFF
FOREVER_INTERVAL = -0x8000000000000000
FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


class Entry:
    """One search result entry: raw attribute values, looked up case-insensitively."""

    def __init__(self, dn: str, raw: Mapping[str, Sequence[bytes]]) -> None:
        self.dn = dn
        self._raw = {name.lower(): list(values) for name, values in raw.items()}

    def raw(self, name: str) -> bytes | None:
        values = self._raw.get(name.lower())
        return values[0] if values else None

    def raws(self, name: str) -> list[bytes]:
        return list(self._raw.get(name.lower(), []))

    def text(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return value.decode("utf-8", "replace") if value is not None else default

    def texts(self, name: str) -> list[str]:
        return [v.decode("utf-8", "replace") for v in self._raw.get(name.lower(), [])]

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw(name)
        if value is None:
            return default
        text = value.decode("ascii", "replace").strip()
        if text.upper() in ("TRUE", "FALSE"):
            return 1 if text.upper() == "TRUE" else 0
        try:
            return int(text)
        except ValueError:
            return default

    def has(self, name: str) -> bool:
        return bool(self._raw.get(name.lower()))


def entries_of(response: Sequence[Mapping[str, object]] | None) -> list[Entry]:
    """The entries of an ldap3 response (references and the like left out)."""
    return [
        Entry(str(item["dn"]), item.get("raw_attributes") or {})  # type: ignore[arg-type]
        for item in response or []
        if item.get("type") == "searchResEntry"
    ]


def filetime(value: int | None) -> datetime | None:
    """A FILETIME (100 ns since 1601, UTC) as a datetime; 0 and "never" are None."""
    if not value or value >= NEVER or value < 0:
        return None
    try:
        return FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def interval_seconds(value: int | None) -> int | None:
    """A negative 100 ns interval (maxPwdAge, lockoutDuration) in seconds;
    None for "forever" (the most negative value) and for no value."""
    if value is None or value == FOREVER_INTERVAL:
        return None
    return abs(value) // 10_000_000


def guid_string(raw: bytes) -> str:
    """objectGUID bytes (little-endian fields) as AD writes it: the canonical UUID string."""
    return str(uuid.UUID(bytes_le=raw))


def guid_filter_value(guid: str) -> str:
    return escape_bytes(uuid.UUID(guid).bytes_le)


def sibling_sid(sid: bytes, rid: int) -> bytes:
    """The SID in the same domain as ``sid`` with the last sub-authority ``rid``
    (a user's SID + primaryGroupID = the primary group's SID)."""
    return sid[:-4] + rid.to_bytes(4, "little")


def sid_string(raw: bytes) -> str:
    """A binary SID (objectSid, tokenGroups) as S-1-5-21-...; "" when malformed."""
    if len(raw) < 8 or raw[0] != 1 or len(raw) != 8 + 4 * raw[1]:
        return ""
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(raw[1])]
    return "S-1-" + "-".join(str(v) for v in [authority, *subs])


def privileged_sid_name(sid: str) -> str | None:
    """The name of a well-known privileged group (or account) this SID is, by SID only."""
    parts = sid.split("-")
    if len(parts) == 5 and parts[:4] == ["S", "1", "5", "32"]:
        return PRIVILEGED_BUILTIN_RIDS.get(int(parts[4]))
    if len(parts) == 8 and parts[:4] == ["S", "1", "5", "21"]:
        return PRIVILEGED_DOMAIN_RIDS.get(int(parts[7]))
    return None


def encode_password(password: str) -> bytes:
    """unicodePwd wants the password in double quotes, UTF-16-LE."""
    return f'"{password}"'.encode("utf-16-le")


def dns_name(dn: str) -> str:
    """The DNS name a DN's DC= RDNs spell (``DC=kiosk,DC=test`` -> ``kiosk.test``)."""
    labels = [p.strip()[3:] for p in dn.split(",") if p.strip().lower().startswith("dc=")]
    return ".".join(labels).lower()


def identity_filter(identity: Identity, implicit_suffixes: Collection[str] = ()) -> str | None:
    """The search filter for what a person typed (UPN or sAMAccountName),
    the value escaped (RFC 4515); None when there is nothing to look up.

    ``implicit_suffixes``: the domain's DNS names (lower-cased). A UPN with one
    of them may be AD's implicit UPN, ``sAMAccountName@dns-domain``, which AD
    accepts for a bind whatever the account's own userPrincipalName: it also
    matches that sAMAccountName (the caller prefers an explicit UPN match)."""
    if identity.upn:
        match = f"(userPrincipalName={escape_filter_chars(identity.upn)})"
        local, _, suffix = identity.upn.rpartition("@")
        if local and suffix.lower() in implicit_suffixes:
            match = f"(|{match}(sAMAccountName={escape_filter_chars(local)}))"
    elif identity.sam:
        match = f"(sAMAccountName={escape_filter_chars(identity.sam)})"
    else:
        return None
    return f"(&(objectCategory=person)(objectClass=user){match})"
