"""A small LDAP filter (RFC 4515) parser and evaluator, without ldap3.

Used to validate configured filters (``[activation] filter``) and by the demo
directory to evaluate them on its in-memory accounts. Supported: ``&``, ``|``,
``!``, equality, presence (``=*``), substrings (``a*b*``), ``>=``/``<=`` on
integers, and AD's bitwise matching rules (``attr:1.2.840.113556.1.4.803:=N``
AND, ``...804:=N`` OR). Values compare case-insensitively, as AD's string
syntaxes do. Anything else is a ``ConfigError`` naming the filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kiosk.backend.errors import ConfigError

BIT_AND = "1.2.840.113556.1.4.803"
BIT_OR = "1.2.840.113556.1.4.804"


@dataclass(frozen=True)
class Node:
    op: str  # "&", "|", "!", "=", "present", "substr", ">=", "<=", "bitand", "bitor"
    attribute: str = ""
    value: str = ""
    parts: tuple[str | None, ...] = ()  # substrings: initial, any..., final (None = absent)
    children: tuple[Node, ...] = ()


def _unescape(text: str, source: str) -> str:
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        if raw[i : i + 1] == b"\\":
            pair = raw[i + 1 : i + 3]
            try:
                out.append(int(pair, 16))
            except ValueError:
                raise ConfigError(f"invalid LDAP filter {source!r}: bad escape near {text!r}") from None
            i += 3
        else:
            out.append(raw[i])
            i += 1
    return out.decode("utf-8", "replace")


def parse(source: str) -> Node:
    """The filter's tree, or ConfigError naming the filter."""
    text = source.strip()
    if not text:
        raise ConfigError("invalid LDAP filter '': empty")
    node, end = _parse(text, 0, source)
    if end != len(text):
        raise ConfigError(f"invalid LDAP filter {source!r}: unexpected text after position {end}")
    return node


def _parse(text: str, i: int, source: str) -> tuple[Node, int]:
    if i >= len(text) or text[i] != "(":
        raise ConfigError(f"invalid LDAP filter {source!r}: expected '(' at position {i}")
    i += 1
    if i < len(text) and text[i] in "&|!":
        op = text[i]
        i += 1
        children: list[Node] = []
        while i < len(text) and text[i] == "(":
            child, i = _parse(text, i, source)
            children.append(child)
        if i >= len(text) or text[i] != ")":
            raise ConfigError(f"invalid LDAP filter {source!r}: expected ')' at position {i}")
        if not children or (op == "!" and len(children) != 1):
            raise ConfigError(f"invalid LDAP filter {source!r}: '{op}' needs {'one' if op == '!' else 'some'} filter(s)")
        return Node(op, children=tuple(children)), i + 1
    end = text.find(")", i)
    if end < 0:
        raise ConfigError(f"invalid LDAP filter {source!r}: missing ')'")
    return _item(text[i:end], source), end + 1


def _item(item: str, source: str) -> Node:
    if "(" in item:
        raise ConfigError(f"invalid LDAP filter {source!r}: unexpected '(' in {item!r}")
    # The operator is at the first '=': a value may hold '<=', '>=' or ':=' itself.
    left, equals, value = item.partition("=")
    if not equals:
        raise ConfigError(f"invalid LDAP filter {source!r}: {item!r} has no '='")
    if left.endswith(("<", ">", "~")):
        operator = left[-1] + "="
        if operator == "~=":
            raise ConfigError(f"invalid LDAP filter {source!r}: approximate match (~=) is not supported")
        return Node(operator, _attribute(left[:-1], source), _unescape(value, source))
    if left.endswith(":"):
        attribute, _, rule = left[:-1].partition(":")
        rules = {BIT_AND: "bitand", BIT_OR: "bitor"}
        if rule not in rules:
            raise ConfigError(f"invalid LDAP filter {source!r}: matching rule {rule!r} is not supported")
        return Node(rules[rule], _attribute(attribute, source), _unescape(value, source))
    attribute = _attribute(left, source)
    if value == "*":
        return Node("present", attribute)
    if "*" in value:
        pieces = value.split("*")
        parts = tuple(_unescape(p, source) if p else None for p in pieces)
        return Node("substr", attribute, parts=parts)
    return Node("=", attribute, _unescape(value, source))


def _attribute(name: str, source: str) -> str:
    name = name.strip()
    if not name or not all(c.isalnum() or c in "-." for c in name) or not (name[0].isalpha() or name[0].isdigit()):
        raise ConfigError(f"invalid LDAP filter {source!r}: bad attribute name {name!r}")
    return name


def evaluate(node: Node, attributes: Mapping[str, Sequence[str]]) -> bool:
    """Whether an entry with these attributes (names case-insensitive) matches."""
    values = {k.lower(): list(v) for k, v in attributes.items()}
    return _eval(node, values)


def _eval(node: Node, values: dict[str, list[str]]) -> bool:
    if node.op == "&":
        return all(_eval(c, values) for c in node.children)
    if node.op == "|":
        return any(_eval(c, values) for c in node.children)
    if node.op == "!":
        return not _eval(node.children[0], values)
    have = values.get(node.attribute.lower(), [])
    if node.op == "present":
        return bool(have)
    if node.op == "=":
        return any(v.casefold() == node.value.casefold() for v in have)
    if node.op == "substr":
        return any(_substring(v.casefold(), node.parts) for v in have)
    numbers = [n for n in (_int(v) for v in have) if n is not None]
    wanted = _int(node.value)
    if wanted is None:
        return False
    if node.op == ">=":
        return any(n >= wanted for n in numbers)
    if node.op == "<=":
        return any(n <= wanted for n in numbers)
    if node.op == "bitand":
        return any(n & wanted == wanted for n in numbers)
    return any(n & wanted for n in numbers)  # bitor


def _substring(value: str, parts: tuple[str | None, ...]) -> bool:
    initial, *middle, final = parts
    position = 0
    if initial is not None:
        if not value.startswith(initial.casefold()):
            return False
        position = len(initial)
    for piece in middle:
        if piece is None:
            continue
        found = value.find(piece.casefold(), position)
        if found < 0:
            return False
        position = found + len(piece)
    if final is not None:
        return len(value) - len(final) >= position and value.endswith(final.casefold())
    return True


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def escape_value(value: str) -> str:
    """RFC 4515 escaping of an assertion value (``*``, ``(``, ``)``, ``\\``, NUL)."""
    out = []
    for char in value:
        if char in "*()\\\0":
            out.append("\\%02x" % ord(char))
        else:
            out.append(char)
    return "".join(out)
