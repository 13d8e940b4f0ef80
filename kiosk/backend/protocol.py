"""The wire between a session (``kiosk.client``) and the backend (``kiosk backend``).

Standard library only: a kiosk session imports this, and must stay small.

A SOCK_STREAM Unix socket carries frames: a 4-byte big-endian length, then
that many bytes of UTF-8 JSON (one object). The session speaks first:

    -> {"hello": "kiosk", "version": 1, "faces": ["self_service", "activation"], "terminal": "t1"}
    <- {"hello": "kiosk-backend", "version": 1, "faces": {...what each face shows...}}

then one request and one response per call of a port's method
(``kiosk.backend.ports``), in order, never two at a time:

    -> {"call": "self_service.begin", "args": ["alice", "t1"]}
    <- {"result": {"$visit": ["v1", "K-7F3A"]}}
    <- {"error": {"type": "Throttled", "detail": "...", "fields": {"retry_after": 60.0}}}

A visit never crosses: the backend keeps each connection's visits and hands
out a handle (``VisitHandle``: its id and its reference); they are forgotten
when the connection closes. Secrets (passwords, answers, codes) travel only
in requests, once; no response carries them back and nothing here logs a
frame. Values are JSON with tags for what JSON lacks (``$tuple``, ``$set``,
``$dt``, ``$path``, ``$map``) and for the model types that cross (``$type``
names one of ``MODEL_TYPES``, a fixed list, imported only when first met).
Errors cross as the name of one of ``ERROR_TYPES`` (the backend's own error
classes) and are raised again as that class; anything else becomes
``BackendUnavailable`` (plain words, like a directory that went away).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import struct
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kiosk.backend import errors
from kiosk.backend.errors import KioskError

__all__ = [
    "ERROR_TYPES",
    "MAX_FRAME",
    "MODEL_TYPES",
    "VERSION",
    "BackendBusy",
    "BackendUnavailable",
    "ProtocolError",
    "VisitHandle",
    "decode",
    "decode_error",
    "encode",
    "encode_error",
    "frame",
    "read_length",
]

#: The protocol's version: a session and a backend of different versions do not talk.
VERSION = 1
#: No frame is longer (a search result of a few hundred accounts fits easily).
MAX_FRAME = 4 * 1024 * 1024
HEADER = struct.Struct(">I")

FACES = ("self_service", "activation", "helpdesk")


class BackendUnavailable(KioskError):
    """The backend cannot be reached, went away during a call, or failed in a
    way it does not name: the person sees plain words, as when a DC is down."""

    code = "backend_unavailable"


class BackendBusy(BackendUnavailable):
    """The backend serves as many sessions as it may (``backend.max_sessions``)."""

    code = "backend_busy"


class ProtocolError(Exception):
    """A frame that does not follow this protocol (never shown to a person)."""


@dataclasses.dataclass(frozen=True)
class VisitHandle:
    """A visit as a session holds it: the backend's id for it on one
    connection, and the reference the person may quote. ``generation`` is the
    client's connection count when it was handed out: a handle from an earlier
    connection names nothing any more."""

    id: str
    reference: str
    generation: int = 0


# --- frames ------------------------------------------------------------------------------


def frame(message: Mapping[str, Any]) -> bytes:
    """One message as a frame: length, then JSON."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"frame too long ({len(body)} bytes)")
    return HEADER.pack(len(body)) + body


def read_length(header: bytes) -> int:
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame too long ({length} bytes)")
    return int(length)


def parse(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold one JSON object")
    return message


# --- values ---------------------------------------------------------------------------------

#: The model types that cross, by tag: "module:name", imported when first met
#: (a kiosk session never imports the helpdesk's types).
MODEL_TYPES: dict[str, str] = {
    "Account": "kiosk.backend.model:Account",
    "Question": "kiosk.backend.model:Question",
    "TotpSetup": "kiosk.backend.model:TotpSetup",
    "PasswordPolicy": "kiosk.backend.model:PasswordPolicy",
    "PasswordRules": "kiosk.backend.policy:PasswordRules",
    "QualityRules": "kiosk.backend.password_quality:QualityRules",
    "ContextWord": "kiosk.backend.password_quality:ContextWord",
    "Questionnaire": "kiosk.backend.questions:Questionnaire",
    "SingleStep": "kiosk.backend.questions:SingleStep",
    "GroupStep": "kiosk.backend.questions:GroupStep",
    "AccountCard": "kiosk.backend.helpdesk:AccountCard",
    "EnrollmentStatus": "kiosk.backend.admin:EnrollmentStatus",
    "ThrottleStatus": "kiosk.backend.throttle:ThrottleStatus",
    "ActionOffer": "kiosk.backend.helpdesk_actions:ActionOffer",
    "FeatureSettings": "kiosk.config.schema:FeatureSettings",
}
_types: dict[str, type] = {}


def _model_type(tag: str) -> type:
    kind = _types.get(tag)
    if kind is None:
        where = MODEL_TYPES.get(tag)
        if where is None:
            raise ProtocolError(f"unknown type {tag!r}")
        module, name = where.split(":")
        kind = getattr(importlib.import_module(module), name)
        _types[tag] = kind
    return kind


def _tag_of(value: object) -> str | None:
    kind = type(value)
    tag = kind.__name__
    where = MODEL_TYPES.get(tag)
    if where is not None and where == f"{kind.__module__}:{kind.__qualname__}":
        return tag
    return None


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data, tagged where JSON would lose its type."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, VisitHandle):
        return {"$visit": [value.id, value.reference]}
    tag = _tag_of(value)
    if tag is not None:
        if dataclasses.is_dataclass(value):
            fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        else:  # a NamedTuple
            fields = {name: encode(item) for name, item in value._asdict().items()}
        return {"$type": tag, "fields": fields}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, Path):
        return {"$path": str(value)}
    if isinstance(value, tuple):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {"$set": sorted((encode(item) for item in value), key=repr)}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, MappingProxyType):
        return {"$map": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, dict):
        return {"$dict": {str(k): encode(v) for k, v in value.items()}}
    raise ProtocolError(f"cannot send a {type(value).__name__}")


def decode(data: Any, *, visit: Callable[[str, str], Any] | None = None) -> Any:
    """The value ``encode`` made. ``visit`` turns a visit tag (id, reference)
    into what the receiver holds for it (default: a ``VisitHandle``)."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        return [decode(item, visit=visit) for item in data]
    if not isinstance(data, dict) or len(data) not in (1, 2):
        raise ProtocolError("malformed value")
    if "$type" in data:
        kind = _model_type(str(data["$type"]))
        fields = data.get("fields")
        if not isinstance(fields, dict):
            raise ProtocolError("malformed value")
        values = {str(k): decode(v, visit=visit) for k, v in fields.items()}
        try:
            return kind(**values)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad {data['$type']}: {exc}") from None
    (key, inner), = data.items()
    if key == "$visit" and isinstance(inner, list) and len(inner) == 2:
        visit_id, reference = str(inner[0]), str(inner[1])
        return visit(visit_id, reference) if visit is not None else VisitHandle(visit_id, reference)
    if key == "$tuple" and isinstance(inner, list):
        return tuple(decode(item, visit=visit) for item in inner)
    if key == "$set" and isinstance(inner, list):
        return frozenset(decode(item, visit=visit) for item in inner)
    if key == "$dt" and isinstance(inner, str):
        return datetime.fromisoformat(inner)
    if key == "$path" and isinstance(inner, str):
        return Path(inner)
    if key == "$float" and inner in ("inf", "-inf", "nan"):
        return float(inner)
    if key == "$map" and isinstance(inner, dict):
        return MappingProxyType({k: decode(v, visit=visit) for k, v in inner.items()})
    if key == "$dict" and isinstance(inner, dict):
        return {k: decode(v, visit=visit) for k, v in inner.items()}
    raise ProtocolError(f"malformed value ({key})")


# --- errors -------------------------------------------------------------------------------------

#: The errors that cross by name: every KioskError of ``kiosk.backend.errors``, and ours.
ERROR_TYPES: dict[str, type[KioskError]] = {
    name: kind
    for name, kind in vars(errors).items()
    if isinstance(kind, type) and issubclass(kind, KioskError) and kind.__module__ == errors.__name__
}
ERROR_TYPES.update({"BackendUnavailable": BackendUnavailable, "BackendBusy": BackendBusy})


def encode_error(error: KioskError) -> dict[str, Any]:
    """A backend error as it crosses: its class, its detail (never a secret,
    ``errors`` says so) and its own fields (``reason``, ``retry_after``...)."""
    name = type(error).__name__
    if ERROR_TYPES.get(name) is not type(error):
        return {"type": "BackendUnavailable", "detail": f"unnamed {name}: {error.detail}"}
    fields = {k: encode(v) for k, v in vars(error).items() if k != "detail" and not k.startswith("_")}
    return {"type": name, "detail": error.detail, "fields": fields}


def decode_error(data: Any) -> KioskError:
    """The same typed error the backend raised (``BackendUnavailable`` if unknown)."""
    if not isinstance(data, dict):
        return BackendUnavailable("malformed error from the backend")
    kind = ERROR_TYPES.get(str(data.get("type")))
    detail = str(data.get("detail") or "")
    if kind is None:
        return BackendUnavailable(f"unknown error {data.get('type')!r} from the backend: {detail}")
    # Built without its __init__ (each class has its own arguments), then given
    # what the backend's instance held: the same type, the same fields.
    error = kind.__new__(kind)
    Exception.__init__(error, detail or kind.code)
    error.detail = detail
    fields = data.get("fields")
    if isinstance(fields, dict):
        try:
            for name, value in fields.items():
                setattr(error, str(name), decode(value))
        except ProtocolError:
            return BackendUnavailable(f"malformed {kind.__name__} from the backend")
    return error
