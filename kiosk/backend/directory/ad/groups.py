"""Group membership, decided by the DC: ``tokenGroups``.

``tokenGroups`` (a constructed attribute, read with a base search on the
account) lists the SIDs of every security group in the account's token: nested
membership and the primary group included, wherever the groups live in the
domain (a ``base_dn`` set to an OU hides nothing). Privilege is decided on
those SIDs, never on group names (renamed or localised built-in groups, such as
"Domänen-Admins", keep their well-known RIDs).

The SIDs are resolved to DNs with one search under the domain's naming
context, so the eligibility rules can name groups by DN; the account's direct
``memberOf`` is added for distribution groups (not in a token).

Every look-up costs the same two searches (token, resolution), whether the
name was found or not: an unknown name reads a decoy of the same shape and
cost, the token of a real account (the last one looked up in this process,
else the domain's built-in Guest) and the resolution of that token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ldap3 import BASE, Connection
from ldap3.utils.conv import escape_bytes

from kiosk.backend.directory.ad.codec import Entry, privileged_sid_name, sid_string
from kiosk.backend.directory.ad.connection import search
from kiosk.backend.errors import InsufficientRights
from kiosk.config import DomainSettings

#: S-1-0-0 (the null SID): no object has it; a resolution with nothing to resolve asks for it.
NULL_SID = bytes([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])


@dataclass(frozen=True)
class Membership:
    #: Lower-cased DNs of every group (nested and primary included).
    groups: frozenset[str]
    #: The account's own SID and its token's, as S-1-... strings.
    sids: tuple[str, ...]

    @property
    def privileged(self) -> tuple[str, ...]:
        """Names of the well-known privileged groups (or accounts) among the SIDs."""
        names = (privileged_sid_name(s) for s in self.sids)
        return tuple(dict.fromkeys(n for n in names if n))


def guest_dn(domain: DomainSettings) -> str:
    """The domain's built-in Guest account (RID 501, disabled by default in
    every AD domain) where AD puts it: a real user object that no one signs in
    as, for the decoys. If a site renamed or moved it, the decoys still run
    (a base search of a missing entry, a refused bind) at a little less cost."""
    return f"CN=Guest,CN=Users,{naming_context(domain.base_dn)}"


def naming_context(base_dn: str) -> str:
    """The domain's DN: the trailing DC= RDNs of a base DN (an OU's domain)."""
    parts = [p.strip() for p in base_dn.split(",")]
    tail: list[str] = []
    for part in reversed(parts):
        if not part.lower().startswith("dc="):
            break
        tail.insert(0, part)
    return ",".join(tail) or base_dn


class GroupReader:
    """Reads an account's groups (tokenGroups, resolved to DNs)."""

    def __init__(self) -> None:
        #: The last real account looked up, per domain: whose token an unknown name's decoy reads.
        self._decoy: dict[str, str] = {}

    def token(self, connection: Connection, dn: str) -> list[bytes]:
        """The binary SIDs of ``dn``'s token groups (one base search)."""
        entries = search(connection, dn, "(objectClass=*)", ["tokenGroups"], scope=BASE)
        return entries[0].raws("tokenGroups") if entries else []

    def resolve(
        self,
        connection: Connection,
        domain: DomainSettings,
        sids: Sequence[bytes],
        known: dict[bytes, str] | None = None,
    ) -> dict[bytes, str]:
        """SID -> DN of the groups found in the domain, in one search. ``known``
        is a cache a listing shares (then only SIDs not seen before are asked
        for, and a listing may skip the search)."""
        wanted = [s for s in dict.fromkeys(sids) if known is None or s not in known]
        found: dict[bytes, str] = {}
        if wanted or known is None:
            terms = "".join(f"(objectSid={escape_bytes(s)})" for s in wanted or [NULL_SID])
            for entry in search(connection, naming_context(domain.base_dn), f"(|{terms})", ["objectSid"]):
                sid = entry.raw("objectSid")
                if sid:
                    found[sid] = entry.dn
            if known is not None:
                known.update({s: found.get(s, "") for s in wanted})
        if known is not None:
            return {s: known[s] for s in sids if known.get(s)}
        return found

    def membership(
        self,
        connection: Connection,
        domain: DomainSettings,
        entry: Entry,
        known: dict[bytes, str] | None = None,
    ) -> Membership:
        token = self.token(connection, entry.dn)
        if not token:
            # Every account has at least its primary group in its token: none
            # means the service account may not read it. Refuse rather than
            # see an administrator as an ordinary account.
            raise InsufficientRights(
                f"cannot read tokenGroups of {entry.dn}: the service account needs read access to it "
                "(on Windows: add it to the Windows Authorization Access Group)"
            )
        if known is None:
            self._decoy[domain.netbios] = entry.dn
        dns = self.resolve(connection, domain, token, known)
        groups = {dn.lower() for dn in dns.values()} | {dn.lower() for dn in entry.texts("memberOf")}
        own = sid_string(entry.raw("objectSid") or b"")
        sids = tuple(s for s in (own, *(sid_string(t) for t in token)) if s)
        return Membership(frozenset(groups), sids)

    def decoy(self, connection: Connection, domain: DomainSettings) -> None:
        """The same two searches as ``membership``, of the same cost, for a
        name that found no account: the token of a real account (the last one
        looked up, else the domain's Guest: AD expands a user's nested groups
        either way) and the resolution of that token. Nothing is kept."""
        token = self.token(connection, self._decoy.get(domain.netbios) or guest_dn(domain))
        self.resolve(connection, domain, token)
