"""The configuration's schema: what every setting is, its bounds and the
checks between settings, as frozen standard-library dataclasses.

This module imports nothing but the standard library and ``kiosk.i18n``'s
table of languages (neither pydantic nor the backend): every kiosk process (one per terminal or SSH session) holds a
``Settings``, and pydantic would add about 13 MiB and 150 ms to each. The
validator (``kiosk.config.validation``) reads these dataclasses, their
``Bounds`` and their ``__post_init__`` checks; the sources (file, environment,
secrets) are ``kiosk.config.loading``'s; the kiosk's start
(``kiosk.config.startup``) validates in a short-lived child process, so
pydantic never enters the long-lived one.

A check here raises ``ValueError`` (``SettingError`` when it is about one
key); the validator turns every one into a single ``ConfigError`` that names
the key, the value and what is expected.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, dataclass_transform

from kiosk.i18n import LANGUAGES, SOURCE_LANGUAGE

S = TypeVar("S")


@dataclass_transform(frozen_default=True, kw_only_default=True)
def _section(cls: type[S]) -> type[S]:
    """A settings section: frozen, keyword-only, and closed: a typo in a key is
    an error that names it, not a silently ignored setting."""
    cls.__pydantic_config__ = {"extra": "forbid"}  # type: ignore[attr-defined]
    # Without a docstring, dataclass() builds one from inspect.signature: half
    # of this module's import time, paid before the kiosk's first frame.
    cls.__doc__ = cls.__doc__ or f"{cls.__name__}: see the comments in kiosk/config/schema.py."
    return dataclass(frozen=True, kw_only=True)(cls)


class Bounds:
    """Limits on a number, a text's or a list's length, as pydantic's core
    schemas name them (ge, gt, le, min_length, max_length): ``Annotated[int,
    Bounds(ge=1)]``. pydantic applies them when it validates; nothing else
    reads them, and this module stays free of imports."""

    def __init__(self, **limits: float) -> None:
        self.limits = limits

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema.update(self.limits)
        return schema

    def __repr__(self) -> str:
        return f"Bounds({', '.join(f'{k}={v!r}' for k, v in self.limits.items())})"


class SettingError(ValueError):
    """A ``__post_init__`` check about one key: the message names it in full."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _normalise(section: object, name: str, value: object) -> None:
    object.__setattr__(section, name, value)  # frozen: only __post_init__ does this


def _matches(section: object, name: str, pattern: str) -> None:
    value = getattr(section, name)
    if not re.fullmatch(pattern, value):
        raise SettingError(name, f"{value!r} does not match the pattern {pattern}")


class Secret:
    """A string kept out of repr, str and logs (the service account's password)."""

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    __hash__ = None  # type: ignore[assignment]

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        # pydantic-core's schema as the plain dicts it is (what core_schema's
        # helpers build), so that this module imports no pydantic: a Secret, or
        # a string that becomes one; serialised as the string.
        return {
            "type": "union",
            "choices": [
                {"type": "is-instance", "cls": cls},
                {"type": "function-after", "function": {"type": "no-info", "function": cls}, "schema": {"type": "str"}},
            ],
            "serialization": {"type": "function-plain", "function": _secret_value},
        }


def _secret_value(secret: Secret) -> str:
    return secret.get_secret_value()


@_section
class DomainSettings:
    #: NetBIOS name, as typed in DOMAIN\user
    netbios: str
    #: DNS name, the UPN suffix: user@dns
    dns: str
    #: where accounts are searched
    base_dn: str

    def __post_init__(self) -> None:
        _normalise(self, "netbios", self.netbios.strip().upper())
        _normalise(self, "dns", self.dns.strip().lower())


@_section
class DirectorySettings:
    kind: Literal["ad", "demo"] = "ad"
    #: Domain controllers, tried in order; ldaps://host[:636] or ldap://host (StartTLS).
    urls: list[str] = field(default_factory=list)
    #: CA bundle that signed the DCs' certificates; empty = the system store.
    ca_file: Path | None = None
    #: Name to check in the DC certificate when the URL uses an IP address.
    tls_server_name: str | None = None
    connect_timeout_seconds: Annotated[float, Bounds(gt=0, le=120)] = 5.0
    timeout_seconds: Annotated[float, Bounds(gt=0, le=300)] = 10.0
    #: The kiosk's own account, as DOMAIN\name, name@dns or a DN.
    service_user: str = ""
    service_password: Secret | None = field(default=None, repr=False)
    domains: list[DomainSettings] = field(default_factory=list)
    #: NetBIOS name applied when a person types a bare user name.
    default_domain: str = ""
    #: Send the AD policy-hints control on resets so password history applies.
    use_policy_hints: bool = True

    def __post_init__(self) -> None:
        for url in self.urls:
            if not url.lower().startswith(("ldaps://", "ldap://")):
                raise SettingError("urls", f"{url!r} is not an ldaps:// or ldap:// URL")
        _normalise(self, "default_domain", self.default_domain.strip().upper())
        if self.kind == "demo":
            if not self.domains:
                # The demo directory's one domain (as in kiosk/backend/directory/demo.py):
                # bare names then find its people, as in `kiosk demo`.
                _normalise(self, "domains", [DomainSettings(netbios="DEMO", dns="demo.example", base_dn="DC=demo,DC=example")])
            return
        if not self.urls:
            raise ValueError("directory.urls is empty: name at least one domain controller")
        if not self.domains:
            raise ValueError("directory.domains is empty: describe at least one domain")
        names = {d.netbios for d in self.domains}
        if self.default_domain and self.default_domain not in names:
            raise ValueError(
                f"directory.default_domain {self.default_domain!r} is not one of "
                f"directory.domains ({', '.join(sorted(names))})"
            )

    @property
    def effective_default_domain(self) -> str:
        return self.default_domain or (self.domains[0].netbios if self.domains else "")


PRIVILEGED_GROUPS = (
    "Domain Admins",
    "Enterprise Admins",
    "Schema Admins",
    "Administrators",
    "Account Operators",
    "Server Operators",
    "Backup Operators",
    "Print Operators",
    "Group Policy Creator Owners",
    "Key Admins",
    "Enterprise Key Admins",
    "DnsAdmins",
)


@_section
class EligibilitySettings:
    #: Accounts must be under one of these OUs (DNs); empty = anywhere in the domain.
    allowed_ous: list[str] = field(default_factory=list)
    #: Accounts must be members (nested counts) of one of these groups (DNs); empty = any.
    allowed_groups: list[str] = field(default_factory=list)
    #: sAMAccountNames that are always refused.
    denied_users: list[str] = field(default_factory=list)
    #: Members (nested) of these groups (DNs) are always refused.
    denied_groups: list[str] = field(default_factory=list)
    #: Group names (CN) whose members are privileged; adminCount=1 is privileged too.
    privileged_groups: list[str] = field(default_factory=lambda: list(PRIVILEGED_GROUPS))
    #: Privileged accounts are refused unless this is true.
    allow_privileged: bool = False


@_section
class FeatureSettings:
    enroll: bool = True
    unlock: bool = True
    reset: bool = True
    activate: bool = False
    #: "Set up an authenticator app" on Welcome (TOTP enrollment; see [factors]).
    totp: bool = False
    #: "Change my password" (the current one known; also for expired and must-change passwords).
    change: bool = False


def _language_texts(section: object, name: str, *, min_length: int, max_length: int) -> None:
    """``name`` is one text, or a table of texts by language code
    (``text.fr = "…"``): every language shipped, every text within bounds."""
    value = getattr(section, name)
    texts = {"": value} if isinstance(value, str) else value
    if not texts:
        raise SettingError(name, "needs a text (or one per language, e.g. text.en and text.fr)")
    for code, words in texts.items():
        where = f"{name}.{code}" if code else name
        if code and code not in LANGUAGES:
            raise SettingError(where, f"{code!r} is not a shipped language ({', '.join(LANGUAGES)})")
        if not min_length <= len(words) <= max_length:
            raise SettingError(where, f"must be {min_length} to {max_length} characters long")


def language_text(value: str | dict[str, str], language: str = SOURCE_LANGUAGE) -> str:
    """A per-language setting's text in ``language``: its own, else English,
    else the first one written; a plain string is every language's."""
    if isinstance(value, str):
        return value
    return value.get(language) or value.get(SOURCE_LANGUAGE) or next(iter(value.values()), "")


def language_translations(value: str | dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(language, text) pairs of a per-language setting; none for a plain string."""
    return () if isinstance(value, str) else tuple(value.items())


@_section
class QuestionSettings:
    id: str
    #: What the person reads: one text for every language, or one per language
    #: (``text.en = "…"``, ``text.fr = "…"``: English, else the first, for a
    #: language without its own). Answers do not depend on the language.
    text: str | dict[str, str]
    min_length: Annotated[int, Bounds(ge=1, le=1000)] = 3
    max_length: Annotated[int, Bounds(ge=1, le=1000)] = 128
    case_sensitive: bool = False

    def __post_init__(self) -> None:
        _matches(self, "id", r"[a-z0-9][a-z0-9_.-]{0,63}")
        _language_texts(self, "text", min_length=3, max_length=300)
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is above max_length {self.max_length}")


@_section
class QuestionnaireStep:
    """Either one question (``question = "id"``) or a group to pick from
    (``group = "Title"``, ``pick = N``, ``choose_from = ["id", ...]``)."""

    question: str | None = None
    group: str | None = None
    pick: Annotated[int, Bounds(ge=1)] = 1
    choose_from: list[str] = field(default_factory=list)
    #: The group's title in other languages (``title.fr = "Souvenirs"``); ``group`` otherwise.
    title: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.question is None) == (self.group is None):
            raise ValueError("a questionnaire step needs either 'question' or 'group', not both")
        if self.title:
            if self.group is None:
                raise SettingError("title", "only a group has a title")
            _language_texts(self, "title", min_length=1, max_length=80)
        if self.group is not None and self.pick > len(self.choose_from):
            raise ValueError(
                f"group {self.group!r} picks {self.pick} but choose_from lists "
                f"{len(self.choose_from)} question(s)"
            )


DEFAULT_QUESTIONS = [
    QuestionSettings(id="birth-city", text={
        "en": "In which city or town were you born?",
        "fr": "Dans quelle ville ou commune êtes-vous né(e)\u00a0?",
        "de": "In welcher Stadt oder Gemeinde sind Sie geboren?",
        "zh_Hans": "您出生在哪个城市或城镇？",
    }),
    QuestionSettings(id="first-pet", text={
        "en": "What was the name of your first pet?",
        "fr": "Comment s'appelait votre premier animal de compagnie\u00a0?",
        "de": "Wie hieß Ihr erstes Haustier?",
        "zh_Hans": "您的第一只宠物叫什么名字？",
    }),
    QuestionSettings(id="first-school", text={
        "en": "What was the name of your first school?",
        "fr": "Comment s'appelait votre première école\u00a0?",
        "de": "Wie hieß Ihre erste Schule?",
        "zh_Hans": "您上的第一所学校叫什么名字？",
    }),
    QuestionSettings(id="childhood-street", text={
        "en": "What street did you live on as a child?",
        "fr": "Dans quelle rue habitiez-vous quand vous étiez enfant\u00a0?",
        "de": "In welcher Straße haben Sie als Kind gewohnt?",
        "zh_Hans": "您小时候住在哪条街上？",
    }),
    QuestionSettings(id="first-concert", text={
        "en": "What was the first concert you went to?",
        "fr": "Quel a été le premier concert auquel vous avez assisté\u00a0?",
        "de": "Welches war das erste Konzert, das Sie besucht haben?",
        "zh_Hans": "您去听的第一场音乐会是哪一场？",
    }),
    QuestionSettings(id="favourite-teacher", text={
        "en": "What was your favourite teacher's surname?",
        "fr": "Quel était le nom de famille de votre enseignant(e) préféré(e)\u00a0?",
        "de": "Wie lautet der Nachname Ihrer liebsten Lehrkraft?",
        "zh_Hans": "您最喜欢的老师姓什么？",
    }),
]
DEFAULT_QUESTIONNAIRE = [
    QuestionnaireStep(question="birth-city"),
    QuestionnaireStep(
        group="Memories",
        pick=2,
        choose_from=["first-pet", "first-school", "childhood-street", "first-concert", "favourite-teacher"],
        title={"fr": "Souvenirs", "de": "Erinnerungen", "zh_Hans": "往事回忆"},
    ),
]


@_section
class QuestionsSettings:
    questions: list[QuestionSettings] = field(default_factory=lambda: list(DEFAULT_QUESTIONS))
    questionnaire: list[QuestionnaireStep] = field(default_factory=lambda: list(DEFAULT_QUESTIONNAIRE))
    #: When questions are removed from the config, a person can still verify if
    #: this many of their enrolled questions remain (0 = all enrolled ones must remain).
    min_remaining_to_verify: Annotated[int, Bounds(ge=0)] = 0

    def __post_init__(self) -> None:
        ids = [q.id for q in self.questions]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"question ids must be unique; repeated: {', '.join(duplicates)}")
        known = set(ids)
        used: list[str] = []
        for step in self.questionnaire:
            used.extend([step.question] if step.question else step.choose_from)
        unknown = [i for i in used if i not in known]
        if unknown:
            raise ValueError(f"questionnaire names unknown question id(s): {', '.join(unknown)}")
        twice = sorted({i for i in used if used.count(i) > 1})
        if twice:
            raise ValueError(f"a question may appear once in the questionnaire; repeated: {', '.join(twice)}")
        if not self.questionnaire:
            raise ValueError("the questionnaire is empty")


@_section
class AnswerHashSettings:
    """argon2id parameters; the defaults are RFC 9106's second recommended
    option (its low-memory profile: 64 MiB, t=3, p=4).

    A file or the environment cannot go below OWASP's minimum for argon2id
    (``ARGON2_FLOOR_KIB``): the validator refuses it, naming the key and the
    floor. Like every bound, the floor is the validator's: Python code that
    builds an AnswerHashSettings itself (tests and bench that check behaviour,
    not cost) is trusted with what it asks for."""

    time_cost: Annotated[int, Bounds(ge=1, le=100)] = 3
    memory_cost_kib: Annotated[int, Bounds(ge=8, le=4 * 1024 * 1024)] = 65536
    parallelism: Annotated[int, Bounds(ge=1, le=64)] = 4
    #: The site pepper (32 random bytes, made on first use with mode 0600): answers
    #: are hashed as HMAC-SHA256(pepper, answer), so a copy of the store alone
    #: allows no guessing offline. Every host sharing a store needs the same file.
    #: Empty: the systemd credential kiosk_answer_pepper ($CREDENTIALS_DIRECTORY),
    #: else kiosk_answer_pepper in the secrets directory (made there if the
    #: kiosk may write to it); none of them: no pepper (kiosk check warns).
    pepper_file: Path | None = None

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        # After the fields and __post_init__: the floor (a plain dict of
        # pydantic-core's schema, so that this module imports no pydantic).
        return {"type": "function-after", "function": {"type": "no-info", "function": _argon2_floor}, "schema": handler(source)}


#: OWASP Password Storage Cheat Sheet, argon2id: the least memory (KiB) for a
#: time cost; each pair gives the same defence (46 MiB t=1 ... 7 MiB t>=5).
ARGON2_FLOOR_KIB = {1: 47104, 2: 19456, 3: 12288, 4: 9216, 5: 7168}


def argon2_floor_kib(time_cost: int) -> int:
    """The least ``memory_cost_kib`` the validator accepts with ``time_cost``."""
    return ARGON2_FLOOR_KIB[min(max(time_cost, 1), 5)]


def _argon2_floor(settings: AnswerHashSettings) -> AnswerHashSettings:
    floor = argon2_floor_kib(settings.time_cost)
    if settings.memory_cost_kib < floor:
        pairs = ", ".join(f"{kib // 1024} MiB at t={t}" for t, kib in ARGON2_FLOOR_KIB.items())
        raise SettingError(
            "memory_cost_kib",
            f"{settings.memory_cost_kib} KiB is below the floor for time_cost = {settings.time_cost}: "
            f"at least {floor} KiB (OWASP's minimum for argon2id: {pairs} or more)",
        )
    return settings


@_section
class ThrottleSettings:
    #: Failed verifications of one account within the window before it is throttled.
    account_max_failures: Annotated[int, Bounds(ge=1)] = 5
    #: Failed verifications from one terminal within the window (any accounts).
    terminal_max_failures: Annotated[int, Bounds(ge=1)] = 20
    window_seconds: Annotated[int, Bounds(ge=1)] = 900
    #: Once the limit is reached, no attempt is accepted for this long.
    lock_seconds: Annotated[int, Bounds(ge=1)] = 900
    #: A growing pause after each failure: delay * 2^(n-1), at most max_delay,
    #: counted from the attempt's start (every failure answers after the same time).
    delay_seconds: Annotated[float, Bounds(ge=0)] = 1.0
    max_delay_seconds: Annotated[float, Bounds(ge=0)] = 8.0
    #: A name's look-up answers no sooner than this after it began, so a
    #: directory's quicker "no such name" cannot be timed (0: off).
    identify_seconds: Annotated[float, Bounds(ge=0, le=5)] = 0.05
    #: Also count failed answers in AD's badPwdCount (lockout parity, but a DoS lever).
    bump_ad_bad_password_count: bool = False
    #: NIST SP 800-63B 5.2.2: at most 100 consecutive failures per account. Past
    #: this many failed attempts on one account since its last success (within
    #: lifetime_days), it is refused until cleared (`kiosk throttle clear`, the
    #: helpdesk). A denial-of-service lever: anyone may spend a person's tries.
    lifetime_max_failures: Annotated[int, Bounds(ge=1)] = 100
    #: How far back consecutive failures are counted; at most the store's 30-day
    #: retention of failure records.
    lifetime_days: Annotated[int, Bounds(ge=1, le=30)] = 30


ThemeName = Literal["auto", "default", "high-contrast", "vt"]


@_section
class KioskSettings:
    title: str = "Password self-service"
    organisation: str = ""
    help_text: str = "Forgot your password or locked out? Choose what you need below."
    #: This terminal's name in throttling and the audit log; empty = the tty or SSH client.
    terminal_id: str = ""
    idle_timeout_seconds: Annotated[int, Bounds(ge=5, le=3600)] = 60
    result_seconds: Annotated[int, Bounds(ge=1, le=300)] = 8
    theme: ThemeName = "auto"
    mouse: bool = False
    #: Locked down: no quit key, no palette, signals ignored. Off only for development.
    lockdown: bool = True
    activation_limit_seconds: Annotated[int, Bounds(ge=60)] = 1200
    #: Application log: tracebacks and the details behind an error's reference id.
    log_file: Path | None = Path("/var/log/kiosk/kiosk.log")
    #: The languages a person may pick on the welcome screen (shipped: en, fr,
    #: de, zh_Hans), in the picker's order; one = no picker.
    languages: list[str] = field(default_factory=lambda: [SOURCE_LANGUAGE])
    #: Where every visit starts, and where it goes back to; empty = the first of ``languages``.
    default_language: str = ""
    #: ``kiosk forkserver``'s socket: sessions start as forks of it, with the
    #: kiosk's code already loaded (see kiosk/forkserver.py); empty = each
    #: session loads it itself. Read by ``kiosk.attach`` from the file (or
    #: $KIOSK_KIOSK__FORKSERVER_SOCKET) before anything else.
    forkserver_socket: str = ""
    #: Overrides of built-in texts, by message key (see kiosk/messages.py): in
    #: English, or per language as a table (``[kiosk.texts.fr]``).
    texts: dict[str, str | dict[str, str]] = field(default_factory=dict)

    @property
    def starting_language(self) -> str:
        """The language every visit starts in (and a mail no visit caused is in)."""
        return self.default_language or self.languages[0]

    def __post_init__(self) -> None:
        if not self.languages:
            raise SettingError("languages", "needs at least one language")
        for code in self.languages:
            if code not in LANGUAGES:
                raise SettingError("languages", f"{code!r} is not a shipped language ({', '.join(LANGUAGES)})")
        if len(set(self.languages)) != len(self.languages):
            raise SettingError("languages", "lists a language twice")
        if self.default_language and self.default_language not in self.languages:
            raise SettingError("default_language", f"{self.default_language!r} is not in kiosk.languages")
        for key, value in self.texts.items():
            if isinstance(value, dict) and key not in LANGUAGES:
                raise SettingError(f"texts.{key}", f"{key!r} is not a shipped language ({', '.join(LANGUAGES)})")


@_section
class HelpdeskSettings:
    """``kiosk helpdesk``: support staff over SSH (sshd ForceCommand for their group)."""

    #: AD groups (DNs, nested membership counts) whose members may operate; empty = anyone
    #: sshd lets in. The SSH login name is looked up as the operator's AD account.
    operator_groups: list[str] = field(default_factory=list)
    #: The operator proves their own AD password before anything else.
    require_operator_password: bool = True
    #: Unlock and reset only after the caller answered their questions.
    require_verification: bool = True
    #: How long a caller's verification allows one action (it is used up by that action).
    verification_seconds: Annotated[int, Bounds(ge=30, le=3600)] = 300
    unlock: bool = True
    reset: bool = True
    revoke: bool = True
    temporary_password_length: Annotated[int, Bounds(ge=8, le=64)] = 16
    idle_timeout_seconds: Annotated[int, Bounds(ge=30, le=7200)] = 300


#: The activation marker's default attribute: a plain single-valued string that
#: ADUC neither shows nor edits (see docs/directory-notes.md).
DEFAULT_MARKER_ATTRIBUTE = "comment"
#: LDAP attribute names (or OIDs) as the activation settings accept them.
_ATTRIBUTE_NAME = r"(?:[A-Za-z][A-Za-z0-9-]{0,62}|[0-9]+(?:\.[0-9]+)+)"
#: Never written by activation's updates: security state, names, passwords.
_UNWRITABLE_ATTRIBUTES = frozenset(
    name.lower()
    for name in (
        "unicodePwd", "userPassword", "userAccountControl", "lockoutTime", "pwdLastSet", "accountExpires",
        "sAMAccountName", "userPrincipalName", "distinguishedName", "cn", "name", "objectClass",
        "objectCategory", "objectGUID", "objectSid", "member", "memberOf", "adminCount", "primaryGroupID",
        "servicePrincipalName", "altSecurityIdentities", "msDS-AllowedToActOnBehalfOfOtherIdentity",
        "nTSecurityDescriptor", "scriptPath", "homeDirectory", "profilePath",
    )
)


def default_activation_filter(marker_attribute: str = DEFAULT_MARKER_ATTRIBUTE) -> str:
    """Enabled user accounts that never logged on and carry no marker yet."""
    return (
        "(&(objectCategory=person)(objectClass=user)"
        "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
        "(!(lastLogonTimestamp=*))"
        f"(!({marker_attribute}=*)))"
    )


@_section
class ProofSettings:
    """One thing a person proves at activation: a directory attribute's value."""

    attribute: str
    #: What the person is asked, e.g. "Employee ID"; or one per language
    #: (``label.en = "Employee ID"``, ``label.fr = "Matricule"``), like a question's text.
    label: str | dict[str, str]
    #: exact; casefold (capitals do not matter); casefold_nospace (nor spaces).
    match: Literal["exact", "casefold", "casefold_nospace"] = "casefold_nospace"

    def __post_init__(self) -> None:
        _matches(self, "attribute", _ATTRIBUTE_NAME)
        _language_texts(self, "label", min_length=1, max_length=80)


@_section
class MarkerSettings:
    """Written last by a completed activation: the account is then claimed."""

    attribute: str = DEFAULT_MARKER_ATTRIBUTE
    value: Annotated[str, Bounds(min_length=1, max_length=256)] = "kiosk-activated"

    def __post_init__(self) -> None:
        _matches(self, "attribute", _ATTRIBUTE_NAME)


@_section
class ActivationSettings:
    """Account activation (``features.activate``): who, what they prove, what is written."""

    #: Who may activate (AND the [eligibility] rules); empty = the default:
    #: enabled, never logged on, no marker (built from marker.attribute).
    #: An LDAP filter (RFC 4515): kiosk.config.validation parses it.
    filter: str = ""
    #: The proof is always an activation code (``kiosk activation issue USER``);
    #: these directory attributes are asked for as well (optional).
    proof: list[ProofSettings] = field(default_factory=list)
    #: How long an issued activation code stays valid.
    code_valid_hours: Annotated[int, Bounds(ge=1, le=720)] = 72
    marker: MarkerSettings = field(default_factory=MarkerSettings)
    #: Written together with the marker, last: attribute -> value ("" deletes it).
    extra_updates: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.filter.strip():
            _normalise(self, "filter", default_activation_filter(self.marker.attribute))
        # The filter's syntax is the validator's to check (kiosk.config.validation):
        # the parser is the backend's, and the schema imports no backend.
        _normalise(self, "filter", self.filter.strip())
        for name in self.extra_updates:
            if not re.fullmatch(_ATTRIBUTE_NAME, name):
                raise SettingError("extra_updates", f"{name!r} is not an LDAP attribute name")
            if name.lower() in _UNWRITABLE_ATTRIBUTES:
                raise SettingError(
                    "extra_updates", f"{name!r} cannot be written by activation (security state or a name)"
                )
        names = [p.attribute.lower() for p in self.proof]
        if len(set(names)) != len(names):
            raise ValueError("proof names an attribute twice")
        marker = self.marker.attribute.lower()
        if marker in _UNWRITABLE_ATTRIBUTES:
            raise ValueError(f"marker.attribute {self.marker.attribute!r} cannot be written by activation")
        if marker in {k.lower() for k in self.extra_updates}:
            raise ValueError("extra_updates must not also write the marker attribute")
        if marker in names:
            raise ValueError("the marker attribute cannot also be a proof")

    @property
    def updates(self) -> dict[str, str | None]:
        """Everything the final step writes, the marker LAST (None = delete)."""
        extra: dict[str, str | None] = {name: value or None for name, value in self.extra_updates.items()}
        return {**extra, self.marker.attribute: self.marker.value}


#: The verification methods an action can ask for: the security questions, an
#: authenticator app's code (TOTP), a one-time code mailed to the account's
#: directory address (``mail.address_attribute``).
FactorMethod = Literal["questions", "totp", "email"]
#: The actions a policy is about: the kiosk's unlock and reset, the helpdesk's caller check.
FACTOR_ACTIONS = ("unlock", "reset", "helpdesk")


def _check_alternatives(name: str, alternatives: list[list[str]]) -> list[list[str]]:
    """Alternatives without duplicates (in the order given), each naming at
    least one method, and at most one code (a visit asks for one code)."""
    cleaned: list[list[str]] = []
    for alternative in alternatives:
        if not alternative:
            raise SettingError(name, "an alternative names no method")
        methods = list(dict.fromkeys(alternative))
        if "totp" in methods and "email" in methods:
            raise SettingError(name, 'an alternative asks for one code: "totp" or "email", not both')
        # Questions first, then the code: the order the kiosk asks them in.
        methods.sort(key=lambda method: method != "questions")
        if methods not in cleaned:
            cleaned.append(methods)
    return cleaned


@_section
class FactorGroupSettings:
    """A group's own policy ([[factors.groups]]): its members need one of these
    alternatives instead of the section's. An action left out keeps the
    section's. The kiosk offers the same choices to everyone (the section's and
    every group's): a member who picks one their group does not allow is refused
    like a wrong answer, never told why."""

    #: The group's DN (nested membership counts, as for eligibility).
    group: Annotated[str, Bounds(min_length=3)]
    unlock: list[list[FactorMethod]] | None = None
    reset: list[list[FactorMethod]] | None = None
    helpdesk: list[list[FactorMethod]] | None = None

    def __post_init__(self) -> None:
        for action in FACTOR_ACTIONS:
            alternatives = getattr(self, action)
            if alternatives is not None:
                if not alternatives:
                    raise SettingError(action, "names no alternative (leave it out to keep the section's)")
                _normalise(self, action, _check_alternatives(action, alternatives))


@_section
class FactorSettings:
    """Which verification methods suffice for each action ([factors]).

    Each action lists alternatives; an alternative is a list of methods that
    must all pass, e.g. ``reset = [["questions", "totp"], ["questions", "email"]]``
    (questions and one code, either kind), ``unlock = [["questions"], ["totp"],
    ["email"]]`` (any one). The default, questions alone, is the kiosk's
    behaviour before second factors. With several alternatives the kiosk asks
    the person which one they will use (the same choice for everyone). A person
    missing a required method walks the same screens as an unenrolled one.
    ``helpdesk`` is the caller check: the operator verifies each method of an
    alternative in turn.
    """

    unlock: Annotated[list[list[FactorMethod]], Bounds(min_length=1)] = field(
        default_factory=lambda: [["questions"]]
    )
    reset: Annotated[list[list[FactorMethod]], Bounds(min_length=1)] = field(
        default_factory=lambda: [["questions"]]
    )
    helpdesk: Annotated[list[list[FactorMethod]], Bounds(min_length=1)] = field(
        default_factory=lambda: [["questions"]]
    )
    #: Per-group policies, the first group the person is a member of applies.
    groups: list[FactorGroupSettings] = field(default_factory=list)
    #: The authenticator's label for the kiosk ("Issuer: name"); empty = kiosk.organisation, else "Kiosk".
    #: Kept short: the QR code must fit an 80x24 screen (see README, TOTP).
    totp_issuer: Annotated[str, Bounds(max_length=24)] = ""
    #: The key that encrypts TOTP secrets in the store (32 random bytes, made on
    #: first use with mode 0600). Empty: the systemd credential kiosk_totp_key
    #: ($CREDENTIALS_DIRECTORY), else kiosk_totp_key in the secrets directory.
    totp_key_file: Path | None = None
    #: E-mailed codes: how many digits, how long one is valid.
    email_code_digits: Annotated[int, Bounds(ge=6, le=10)] = 6
    email_code_minutes: Annotated[int, Bounds(ge=1, le=30)] = 10
    #: Codes one visit may ask for (the first and its resends).
    email_code_sends: Annotated[int, Bounds(ge=1, le=10)] = 3
    #: Codes one account may be sent in an hour, across visits and hosts.
    email_codes_per_hour: Annotated[int, Bounds(ge=1, le=100)] = 6
    #: Codes one terminal may send in an hour, whoever they are for (a name typed
    #: over and over to fill people's mailboxes stops here).
    email_codes_per_terminal_hour: Annotated[int, Bounds(ge=1, le=10000)] = 60
    #: The domain shown (masked address, e.g. a***@example.com) for people the
    #: kiosk has no address for; empty = the domain of mail.from_address.
    email_decoy_domain: str = ""

    def __post_init__(self) -> None:
        for action in FACTOR_ACTIONS:
            _normalise(self, action, _check_alternatives(action, getattr(self, action)))
        if ":" in self.totp_issuer:
            raise SettingError("totp_issuer", "must not contain ':'")
        _normalise(self, "email_decoy_domain", self.email_decoy_domain.strip().lstrip("@"))

    def choices(self, action: str) -> list[list[str]]:
        """Every alternative offered for ``action``: the section's, then each
        group's not already listed. The same for everyone."""
        offered: list[list[str]] = [list(a) for a in getattr(self, action, [["questions"]])]
        for group in self.groups:
            for alternative in getattr(group, action) or ():
                if alternative not in offered:
                    offered.append(list(alternative))
        return offered

    def alternatives(self, action: str, member_of: Callable[[str], bool] | None = None) -> list[list[str]]:
        """The alternatives that suffice for ``action`` for one person: their
        first group's that has a policy for it, else the section's."""
        if member_of is not None:
            for group in self.groups:
                own = getattr(group, action)
                if own is not None and member_of(group.group):
                    return own
        return getattr(self, action, [["questions"]])

    @property
    def methods(self) -> set[str]:
        """Every method some policy names."""
        return {m for action in FACTOR_ACTIONS for alternative in self.choices(action) for m in alternative}

    def requires_totp(self, action: str) -> bool:
        """Does every alternative for ``action`` need TOTP (questions alone never suffice)?"""
        return all("totp" in alternative for alternative in self.choices(action))


@_section
class PasswordSettings:
    """The kiosk's own rules for every new password (reset, activation, change,
    the helpdesk's temporary ones), on top of the directory's (NIST SP 800-63B rev 4)."""

    #: A kiosk minimum length. It only adds to the directory's own: the effective
    #: minimum is the larger of the two. 0 = the directory's (the default).
    #: `kiosk check` warns when the effective minimum is under 15.
    min_length: Annotated[int, Bounds(ge=0, le=256)] = 0
    #: The longest password accepted: at least 64 (NIST), at most AD's 256.
    max_length: Annotated[int, Bounds(ge=64, le=256)] = 256
    #: The lowest zxcvbn strength score (0-4) accepted; 0 turns the estimate off.
    min_score: Annotated[int, Bounds(ge=0, le=4)] = 3
    #: A local copy of the Pwned Passwords range files (one file per 5-hex SHA-1
    #: prefix, lines SUFFIX:COUNT); empty = only the built-in list of common passwords.
    pwned_dir: Path | None = None
    #: Words no password may contain, besides the person's names, the account
    #: name, kiosk.organisation and kiosk.title (4 characters or more count).
    context_words: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.min_length > self.max_length:
            raise SettingError("min_length", f"{self.min_length} is more than max_length ({self.max_length})")


@_section
class StoreSettings:
    url: str = "sqlite:////var/lib/kiosk/kiosk.db"


@_section
class AuditSettings:
    #: JSON lines; empty to disable the file.
    file: Path | None = Path("/var/log/kiosk/audit.jsonl")
    syslog: bool = False


@_section
class MailSettings:
    """Notices to the person after every change to their account (``kiosk.backend.notices``),
    sent through an SMTP relay. Off unless ``enabled``."""

    enabled: bool = False
    #: The SMTP relay.
    host: str = ""
    #: 587 with ``tls = "starttls"``, 465 with ``tls = "tls"``.
    port: Annotated[int, Bounds(ge=1, le=65535)] = 587
    #: "starttls" (plain connection, then STARTTLS, required) or "tls" (implicit TLS).
    #: The relay's certificate is always verified.
    tls: Literal["starttls", "tls"] = "starttls"
    #: CA bundle that signed the relay's certificate; empty = the system store.
    ca_file: Path | None = None
    #: The notices' From: address.
    from_address: str = ""
    #: Optional: a copy of every notice to this mailbox (a security team's).
    security_copy: str = ""
    #: Optional SMTP login; the password comes from the secrets file
    #: ``kiosk_mail__password`` or ``$KIOSK_MAIL__PASSWORD``, never the config file.
    username: str = ""
    password: Secret | None = field(default=None, repr=False)
    #: The directory attribute that holds a person's address.
    address_attribute: str = "mail"
    #: What a person should do if the change was not theirs (a line of the notice):
    #: one text, or one per language (``contact.fr = "…"``). The default is translated.
    contact: str | dict[str, str] = "contact the IT helpdesk right away"
    timeout_seconds: Annotated[float, Bounds(gt=0, le=120)] = 10.0
    #: The first retry after a failed send; each later one waits twice as long (at most 6 h).
    retry_seconds: Annotated[int, Bounds(ge=1, le=86400)] = 60
    #: A notice not sent after this many days is given up (audited).
    give_up_days: Annotated[int, Bounds(ge=1, le=60)] = 3

    def __post_init__(self) -> None:
        _matches(self, "address_attribute", _ATTRIBUTE_NAME)
        _language_texts(self, "contact", min_length=1, max_length=200)
        _normalise(self, "host", self.host.strip())
        for name in ("from_address", "security_copy"):
            value = getattr(self, name).strip()
            _normalise(self, name, value)
            if value and not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+", value):
                raise SettingError(name, f"{value!r} is not a mail address (name@example.com)")
        if self.enabled:
            if not self.host:
                raise ValueError("mail.host is empty: name the SMTP relay (or set mail.enabled = false)")
            if not self.from_address:
                raise ValueError("mail.from_address is empty: name the notices' sender")


@_section
class RemindersSettings:
    """``kiosk remind`` (its systemd timer): mail people who should enroll, or
    whose password expires soon, through the notices' outbox (``[mail]``).
    Each reminder is sent at most once per person per interval, across hosts."""

    enabled: bool = False
    #: Remind the eligible people who have not enrolled (or should enroll again)
    #: at most once this many days; 0 = no enrollment reminders.
    enroll_every_days: Annotated[int, Bounds(ge=0, le=365)] = 30
    #: Remind people whose password expires within this many days; 0 = none.
    expiry_within_days: Annotated[int, Bounds(ge=0, le=90)] = 14
    #: ... at most once this many days while it does.
    expiry_every_days: Annotated[int, Bounds(ge=1, le=90)] = 7
    #: Where the kiosk is, as the reminders say it ("the terminal by the reception desk"):
    #: one text, or one per language (``kiosk_location.fr = "…"``). The default is translated.
    kiosk_location: str | dict[str, str] = "ask the IT helpdesk where to find it"
    #: At most this many reminders queued by one run; the rest wait for the next.
    max_per_run: Annotated[int, Bounds(ge=1, le=100_000)] = 1000

    def __post_init__(self) -> None:
        if isinstance(self.kiosk_location, str):
            _normalise(self, "kiosk_location", self.kiosk_location.strip())
        _language_texts(self, "kiosk_location", min_length=1, max_length=200)


@_section
class BackendSettings:
    """The privileged backend (``kiosk backend``): one per host, the only
    holder of the service account's secret and the store. Sessions reach it
    over a Unix socket; an empty ``socket`` runs everything in the session's
    own process (``kiosk demo``, tests)."""

    #: The backend's Unix socket ("" = no backend: each session builds its own).
    socket: str = ""
    #: The Unix user the kiosk sessions run as: the only one given self-service.
    session_user: str = "kiosk"
    #: The Unix group whose members may open the helpdesk ("" = any other user);
    #: the directory's ``helpdesk.operator_groups`` still decide who may operate.
    helpdesk_group: str = "kiosk-helpdesk"
    #: Answer verifications (argon2id, 64 MiB each) at once; 0 = one per core.
    max_verifications: Annotated[int, Bounds(ge=0, le=256)] = 0
    #: Sessions connected at once; one more is told to try again later.
    max_sessions: Annotated[int, Bounds(ge=1, le=100_000)] = 1000

    def __post_init__(self) -> None:
        _normalise(self, "socket", self.socket.strip())
        if self.socket and not self.socket.startswith("/"):
            raise SettingError("socket", f"{self.socket!r} is not an absolute path")

    @property
    def verifications(self) -> int:
        """``max_verifications``, with 0 read as the number of cores."""
        import os

        return self.max_verifications or os.cpu_count() or 1


@_section
class Settings:
    directory: DirectorySettings
    eligibility: EligibilitySettings = field(default_factory=EligibilitySettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    questions: QuestionsSettings = field(default_factory=QuestionsSettings)
    answers: AnswerHashSettings = field(default_factory=AnswerHashSettings)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    kiosk: KioskSettings = field(default_factory=KioskSettings)
    activation: ActivationSettings = field(default_factory=ActivationSettings)
    helpdesk: HelpdeskSettings = field(default_factory=HelpdeskSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    factors: FactorSettings = field(default_factory=FactorSettings)
    reminders: RemindersSettings = field(default_factory=RemindersSettings)
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    backend: BackendSettings = field(default_factory=BackendSettings)

    def __post_init__(self) -> None:
        if "email" in self.factors.methods and not self.mail.enabled:
            raise ValueError('factors name "email" (an e-mailed code) but mail is off: set up [mail] (enabled = true)')
