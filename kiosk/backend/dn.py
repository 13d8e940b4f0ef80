"""Distinguished names compared as AD compares them: RDN by RDN (RFC 4514),
escapes honoured, without case. The one way the kiosk compares DNs (eligibility,
the directory adapter, kiosk check); never by splitting text on commas."""

from __future__ import annotations

__all__ = ["DnKey", "Rdn", "dn_key", "is_within", "parse_dn"]

#: One RDN: its attribute-value pairs, attribute lower-cased, value unescaped
#: and case-folded, sorted (``a=1+b=2`` is ``b=2+a=1``).
Rdn = tuple[tuple[str, str], ...]
#: A DN in comparable form: its RDNs, or (malformed) its lower-cased text.
DnKey = tuple[Rdn, ...] | str


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


def dn_key(dn: str) -> DnKey:
    """A DN's comparable form; a malformed one is only ever equal to itself."""
    try:
        return parse_dn(dn)
    except ValueError:
        return dn.strip().lower()


def is_within(dn: str, container: str, *, strictly: bool = False) -> bool:
    """``dn`` is ``container`` or below it (``strictly``: below only), RDN by
    RDN, never by text: ``OU=Guests\\,OU=Staff`` is not within ``OU=Staff``."""
    inner, outer = dn_key(dn), dn_key(container)
    if isinstance(inner, str) or isinstance(outer, str) or not outer:
        return False
    if len(inner) < len(outer) or (strictly and len(inner) == len(outer)):
        return False
    return inner[len(inner) - len(outer) :] == outer
