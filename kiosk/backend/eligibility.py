"""Who may use self-service: allowed OUs and groups, deny lists, privileged accounts."""

from __future__ import annotations

from collections.abc import Collection

from kiosk.backend.model import Account, Eligibility
from kiosk.config import EligibilitySettings

#: One RDN: its attribute-value pairs, attribute lower-cased, value unescaped
#: and case-folded, sorted (``a=1+b=2`` is ``b=2+a=1``).
Rdn = tuple[tuple[str, str], ...]


def parse_dn(dn: str) -> tuple[Rdn, ...]:
    """The RDNs of ``dn`` (RFC 4514), first to last; ValueError if malformed.

    Escapes are honoured (``OU=Guests\\,OU=Staff`` is ONE RDN whose value holds
    a comma, ``\\2C`` is a comma too), spaces around separators and unescaped
    spaces at a value's ends do not count, attribute names and values compare
    without case (as AD's do).
    """
    rdns: list[Rdn] = []
    avas: list[tuple[str, str]] = []
    attribute: str | None = None
    buffer = bytearray()
    significant = 0  # length of buffer up to its last escaped or non-space byte
    i = 0
    raw = dn.encode("utf-8", "surrogatepass")

    def finish_ava() -> None:
        nonlocal attribute, buffer, significant
        if attribute is None or not attribute:
            raise ValueError(f"not a DN: {dn!r}")
        value = bytes(buffer[:significant]).lstrip(b" ")
        avas.append((attribute.strip().lower(), value.decode("utf-8", "replace").casefold()))
        attribute, buffer, significant = None, bytearray(), 0

    while i < len(raw):
        byte = raw[i : i + 1]
        if attribute is None:
            if byte == b"=":
                attribute = bytes(buffer).decode("utf-8", "replace")
                buffer, significant = bytearray(), 0
            elif byte in (b",", b";", b"+", b"\\"):
                raise ValueError(f"not a DN: {dn!r}")
            else:
                buffer += byte
            i += 1
            continue
        if byte == b"\\":
            pair = raw[i + 1 : i + 3]
            if len(pair) == 2 and all(c in b"0123456789abcdefABCDEF" for c in pair):
                buffer.append(int(pair, 16))
                i += 3
            elif i + 1 < len(raw):
                buffer += raw[i + 1 : i + 2]
                i += 2
            else:
                raise ValueError(f"not a DN: {dn!r} (dangling escape)")
            significant = len(buffer)
            continue
        if byte in (b",", b";", b"+"):
            finish_ava()
            if byte != b"+":
                rdns.append(tuple(sorted(avas)))
                avas = []
            i += 1
            continue
        buffer += byte
        if byte != b" ":
            significant = len(buffer)
        i += 1
    if attribute is None:
        if rdns or avas or buffer.strip():
            raise ValueError(f"not a DN: {dn!r}")
        return ()
    finish_ava()
    rdns.append(tuple(sorted(avas)))
    return tuple(rdns)


def _dn_key(dn: str) -> tuple[Rdn, ...] | str:
    """A DN's comparable form; a malformed one is only ever equal to itself."""
    try:
        return parse_dn(dn)
    except ValueError:
        return dn.strip().lower()


def _under(dn: str, container: str) -> bool:
    """``dn`` is strictly below ``container`` (RDN by RDN, never by text)."""
    inner, outer = _dn_key(dn), _dn_key(container)
    if isinstance(inner, str) or isinstance(outer, str) or not outer:
        return False
    return len(inner) > len(outer) and inner[len(inner) - len(outer) :] == outer


def _first_rdn_value(dn: str) -> str:
    key = _dn_key(dn)
    if isinstance(key, str) or not key:
        return ""
    return key[0][0][1] if len(key[0]) == 1 else ""


def is_privileged(account: Account, rules: EligibilitySettings) -> bool:
    names = {name.casefold() for name in rules.privileged_groups}
    return account.admin_count or any(_first_rdn_value(g) in names for g in account.groups)


def check_eligibility(
    account: Account, rules: EligibilitySettings, *, operator_groups: Collection[str] = ()
) -> Eligibility:
    """The first reason an account is refused, or ok. Reasons are for the log only:
    the person sees the same flow as everyone else. ``operator_groups``: the
    helpdesk's (helpdesk.operator_groups); their members count as privileged."""
    groups = {_dn_key(g) for g in account.groups}
    if not account.enabled:
        return Eligibility.refused("account is disabled")
    if account.expired:
        return Eligibility.refused("account has expired")
    if account.sam.lower() in {u.lower() for u in rules.denied_users}:
        return Eligibility.refused("user is on the deny list")
    denied = [g for g in rules.denied_groups if _dn_key(g) in groups]
    if denied:
        return Eligibility.refused(f"member of denied group {denied[0]}")
    if not rules.allow_privileged and account.privileged:
        return Eligibility.refused(f"privileged account ({', '.join(account.privileged)})")
    operators = [g for g in operator_groups if _dn_key(g) in groups]
    if not rules.allow_privileged and operators:
        return Eligibility.refused(f"privileged account (helpdesk operator group {operators[0]})")
    if not rules.allow_privileged and is_privileged(account, rules):
        return Eligibility.refused("privileged account (adminCount or an administrative group)")
    if rules.allowed_ous and not any(_under(account.dn, ou) for ou in rules.allowed_ous):
        return Eligibility.refused("outside the allowed OUs")
    if rules.allowed_groups and not any(_dn_key(g) in groups for g in rules.allowed_groups):
        return Eligibility.refused("not a member of an allowed group")
    return Eligibility.ok()
