"""Configuration: one TOML file, overridable by ``KIOSK_*`` environment variables.

Where the file is: ``--config PATH``, else ``$KIOSK_CONFIG``, else
``/etc/kiosk/kiosk.toml``. Nested keys are overridden with ``__``:
``KIOSK_KIOSK__IDLE_TIMEOUT_SECONDS=30``, ``KIOSK_DIRECTORY__URLS='["ldaps://dc2"]'``.

The questions may instead live in ``questions.toml`` beside the config file
(``kiosk questions import`` writes it); then the config has no [questions].

The service account's password never comes from the file or argv: it comes from
``$KIOSK_DIRECTORY__SERVICE_PASSWORD`` or from the file
``kiosk_directory__service_password`` in a secrets directory (``$KIOSK_SECRETS_DIR``,
systemd's ``$CREDENTIALS_DIRECTORY``, or ``/etc/kiosk/secrets``).

Every mistake becomes one ``ConfigError`` that names the key, the value and what
is expected; ``kiosk`` prints it and exits, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from kiosk.backend.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/kiosk/kiosk.toml")
DEFAULT_SECRETS_DIR = Path("/etc/kiosk/secrets")
SERVICE_PASSWORD_SECRET = "kiosk_directory__service_password"


class _Section(BaseModel):
    # A typo in a key is an error that names it, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)


class DomainSettings(_Section):
    netbios: str = Field(description="NetBIOS name, as typed in DOMAIN\\user")
    dns: str = Field(description="DNS name, the UPN suffix: user@dns")
    base_dn: str = Field(description="where accounts are searched")

    @field_validator("netbios")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("dns")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.strip().lower()


class DirectorySettings(_Section):
    kind: Literal["ad", "demo"] = "ad"
    #: Domain controllers, tried in order; ldaps://host[:636] or ldap://host (StartTLS).
    urls: list[str] = Field(default_factory=list)
    #: CA bundle that signed the DCs' certificates; empty = the system store.
    ca_file: Path | None = None
    #: Name to check in the DC certificate when the URL uses an IP address.
    tls_server_name: str | None = None
    connect_timeout_seconds: float = Field(5.0, gt=0, le=120)
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    #: The kiosk's own account, as DOMAIN\name, name@dns or a DN.
    service_user: str = ""
    service_password: SecretStr | None = None
    domains: list[DomainSettings] = Field(default_factory=list)
    #: NetBIOS name applied when a person types a bare user name.
    default_domain: str = ""
    #: Send the AD policy-hints control on resets so password history applies.
    use_policy_hints: bool = True

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.lower().startswith(("ldaps://", "ldap://")):
                raise ValueError(f"{url!r} is not an ldaps:// or ldap:// URL")
        return urls

    @field_validator("default_domain")
    @classmethod
    def _default_upper(cls, value: str) -> str:
        return value.strip().upper()

    @model_validator(mode="after")
    def _complete(self) -> DirectorySettings:
        if self.kind == "demo":
            return self
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
        return self

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


class EligibilitySettings(_Section):
    #: Accounts must be under one of these OUs (DNs); empty = anywhere in the domain.
    allowed_ous: list[str] = Field(default_factory=list)
    #: Accounts must be members (nested counts) of one of these groups (DNs); empty = any.
    allowed_groups: list[str] = Field(default_factory=list)
    #: sAMAccountNames that are always refused.
    denied_users: list[str] = Field(default_factory=list)
    #: Members (nested) of these groups (DNs) are always refused.
    denied_groups: list[str] = Field(default_factory=list)
    #: Group names (CN) whose members are privileged; adminCount=1 is privileged too.
    privileged_groups: list[str] = Field(default_factory=lambda: list(PRIVILEGED_GROUPS))
    #: Privileged accounts are refused unless this is true.
    allow_privileged: bool = False


class FeatureSettings(_Section):
    enroll: bool = True
    unlock: bool = True
    reset: bool = True
    activate: bool = False


class QuestionSettings(_Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
    text: str = Field(min_length=3, max_length=300)
    min_length: int = Field(3, ge=1, le=1000)
    max_length: int = Field(128, ge=1, le=1000)
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _lengths(self) -> QuestionSettings:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is above max_length {self.max_length}")
        return self


class QuestionnaireStep(_Section):
    """Either one question (``question = "id"``) or a group to pick from
    (``group = "Title"``, ``pick = N``, ``choose_from = ["id", ...]``)."""

    question: str | None = None
    group: str | None = None
    pick: int = Field(1, ge=1)
    choose_from: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> QuestionnaireStep:
        if (self.question is None) == (self.group is None):
            raise ValueError("a questionnaire step needs either 'question' or 'group', not both")
        if self.group is not None and self.pick > len(self.choose_from):
            raise ValueError(
                f"group {self.group!r} picks {self.pick} but choose_from lists "
                f"{len(self.choose_from)} question(s)"
            )
        return self


DEFAULT_QUESTIONS = [
    QuestionSettings(id="birth-city", text="In which city or town were you born?"),
    QuestionSettings(id="first-pet", text="What was the name of your first pet?"),
    QuestionSettings(id="first-school", text="What was the name of your first school?"),
    QuestionSettings(id="childhood-street", text="What street did you live on as a child?"),
    QuestionSettings(id="first-concert", text="What was the first concert you went to?"),
    QuestionSettings(id="favourite-teacher", text="What was your favourite teacher's surname?"),
]
DEFAULT_QUESTIONNAIRE = [
    QuestionnaireStep(question="birth-city"),
    QuestionnaireStep(
        group="Memories",
        pick=2,
        choose_from=["first-pet", "first-school", "childhood-street", "first-concert", "favourite-teacher"],
    ),
]


class QuestionsSettings(_Section):
    questions: list[QuestionSettings] = Field(default_factory=lambda: list(DEFAULT_QUESTIONS))
    questionnaire: list[QuestionnaireStep] = Field(default_factory=lambda: list(DEFAULT_QUESTIONNAIRE))
    #: When questions are removed from the config, a person can still verify if
    #: this many of their enrolled questions remain (0 = all enrolled ones must remain).
    min_remaining_to_verify: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _references(self) -> QuestionsSettings:
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
        return self


class AnswerHashSettings(_Section):
    """argon2id parameters; the defaults are RFC 9106's low-memory profile."""

    time_cost: int = Field(3, ge=1, le=100)
    memory_cost_kib: int = Field(65536, ge=8, le=4 * 1024 * 1024)
    parallelism: int = Field(4, ge=1, le=64)


class ThrottleSettings(_Section):
    #: Failed verifications of one account within the window before it is throttled.
    account_max_failures: int = Field(5, ge=1)
    #: Failed verifications from one terminal within the window (any accounts).
    terminal_max_failures: int = Field(20, ge=1)
    window_seconds: int = Field(900, ge=1)
    #: Once the limit is reached, no attempt is accepted for this long.
    lock_seconds: int = Field(900, ge=1)
    #: A growing pause after each failure: delay * 2^(n-1), at most max_delay.
    delay_seconds: float = Field(1.0, ge=0)
    max_delay_seconds: float = Field(8.0, ge=0)
    #: Also count failed answers in AD's badPwdCount (lockout parity, but a DoS lever).
    bump_ad_bad_password_count: bool = False


ThemeName = Literal["auto", "default", "high-contrast", "vt"]


class KioskSettings(_Section):
    title: str = "Password self-service"
    organisation: str = ""
    help_text: str = "Forgot your password or locked out? Choose what you need below."
    #: This terminal's name in throttling and the audit log; empty = the tty or SSH client.
    terminal_id: str = ""
    idle_timeout_seconds: int = Field(60, ge=5, le=3600)
    result_seconds: int = Field(8, ge=1, le=300)
    theme: ThemeName = "auto"
    mouse: bool = False
    #: Locked down: no quit key, no palette, signals ignored. Off only for development.
    lockdown: bool = True
    activation_limit_seconds: int = Field(1200, ge=60)
    #: Application log: tracebacks and the details behind an error's reference id.
    log_file: Path | None = Path("/var/log/kiosk/kiosk.log")
    #: Overrides of built-in texts, by message key (see kiosk/messages.py).
    texts: dict[str, str] = Field(default_factory=dict)


class HelpdeskSettings(_Section):
    """``kiosk helpdesk``: support staff over SSH (sshd ForceCommand for their group)."""

    #: AD groups (DNs, nested membership counts) whose members may operate; empty = anyone
    #: sshd lets in. The SSH login name is looked up as the operator's AD account.
    operator_groups: list[str] = Field(default_factory=list)
    #: The operator proves their own AD password before anything else.
    require_operator_password: bool = True
    #: Unlock and reset only after the caller answered their questions.
    require_verification: bool = True
    unlock: bool = True
    reset: bool = True
    revoke: bool = True
    temporary_password_length: int = Field(16, ge=8, le=64)
    idle_timeout_seconds: int = Field(300, ge=30, le=7200)


#: The activation marker's default attribute: a plain single-valued string that
#: ADUC neither shows nor edits (see docs/directory-notes.md).
DEFAULT_MARKER_ATTRIBUTE = "comment"
#: LDAP attribute names (or OIDs) as the activation settings accept them.
_ATTRIBUTE_NAME = r"^(?:[A-Za-z][A-Za-z0-9-]{0,62}|[0-9]+(?:\.[0-9]+)+)$"
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


class ProofSettings(_Section):
    """One thing a person proves at activation: a directory attribute's value."""

    attribute: Annotated[str, Field(pattern=_ATTRIBUTE_NAME)]
    #: What the person is asked, e.g. "Employee ID".
    label: str = Field(min_length=1, max_length=80)
    #: exact; casefold (capitals do not matter); casefold_nospace (nor spaces).
    match: Literal["exact", "casefold", "casefold_nospace"] = "casefold_nospace"


class MarkerSettings(_Section):
    """Written last by a completed activation: the account is then claimed."""

    attribute: Annotated[str, Field(pattern=_ATTRIBUTE_NAME)] = DEFAULT_MARKER_ATTRIBUTE
    value: str = Field("kiosk-activated", min_length=1, max_length=256)


class ActivationSettings(_Section):
    """Account activation (``features.activate``): who, what they prove, what is written."""

    #: Who may activate (AND the [eligibility] rules); default: enabled, never
    #: logged on, no marker. Built from marker.attribute when not given.
    filter: str = Field(default_factory=default_activation_filter)
    proof: list[ProofSettings] = Field(
        default_factory=lambda: [ProofSettings(attribute="employeeID", label="Employee ID")], min_length=1
    )
    marker: MarkerSettings = Field(default_factory=MarkerSettings)
    #: Written together with the marker, last: attribute -> value ("" deletes it).
    extra_updates: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _filter_follows_marker(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "filter" not in data:
            marker = data.get("marker")
            attribute = None
            if isinstance(marker, Mapping):
                attribute = marker.get("attribute")
            elif isinstance(marker, MarkerSettings):
                attribute = marker.attribute
            if isinstance(attribute, str) and attribute:
                data = {**data, "filter": default_activation_filter(attribute)}
        return data

    @field_validator("filter")
    @classmethod
    def _parses(cls, value: str) -> str:
        from kiosk.backend.ldap_filter import parse

        try:
            parse(value)
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return value.strip()

    @field_validator("extra_updates")
    @classmethod
    def _plain(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        for name in value:
            if not re.match(_ATTRIBUTE_NAME, name):
                raise ValueError(f"{name!r} is not an LDAP attribute name")
            if name.lower() in _UNWRITABLE_ATTRIBUTES:
                raise ValueError(f"{name!r} cannot be written by activation (security state or a name)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ActivationSettings:
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
        return self

    @property
    def updates(self) -> dict[str, str | None]:
        """Everything the final step writes, the marker LAST (None = delete)."""
        extra: dict[str, str | None] = {name: value or None for name, value in self.extra_updates.items()}
        return {**extra, self.marker.attribute: self.marker.value}


class StoreSettings(_Section):
    url: str = "sqlite:////var/lib/kiosk/kiosk.db"


class AuditSettings(_Section):
    #: JSON lines; empty to disable the file.
    file: Path | None = Path("/var/log/kiosk/audit.jsonl")
    syslog: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KIOSK_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    directory: DirectorySettings
    eligibility: EligibilitySettings = Field(default_factory=EligibilitySettings)
    features: FeatureSettings = Field(default_factory=FeatureSettings)
    questions: QuestionsSettings = Field(default_factory=QuestionsSettings)
    answers: AnswerHashSettings = Field(default_factory=AnswerHashSettings)
    throttle: ThrottleSettings = Field(default_factory=ThrottleSettings)
    kiosk: KioskSettings = Field(default_factory=KioskSettings)
    activation: ActivationSettings = Field(default_factory=ActivationSettings)
    helpdesk: HelpdeskSettings = Field(default_factory=HelpdeskSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The file's values arrive as init arguments; the environment overrides them.
        return (env_settings, init_settings)


def config_path(explicit: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path:
    if explicit:
        return Path(explicit)
    if environ.get("KIOSK_CONFIG"):
        return Path(environ["KIOSK_CONFIG"])
    return DEFAULT_CONFIG_PATH


def questions_path(config_file: Path) -> Path:
    """Where ``kiosk questions import`` puts questions: beside the config file."""
    return config_file.with_name("questions.toml")


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read, merge and validate the configuration, or raise one ConfigError."""
    # A copy: _validate empties os.environ of KIOSK_* while it works, and would
    # lose the overrides it is asked to apply if this were os.environ itself.
    environ = dict(os.environ) if environ is None else environ
    file = config_path(path, environ)
    data = _read_toml(file)
    questions_file = questions_path(file)
    if questions_file.exists():
        if "questions" in data:
            raise ConfigError(
                f"questions are defined both in {file} and in {questions_file}: keep one "
                f"(remove the [questions] section from {file.name} to use {questions_file.name})"
            )
        data["questions"] = _read_toml(questions_file).get("questions", {})
    if overrides:
        data = _merge(data, overrides)
    directory = data.get("directory")
    if isinstance(directory, dict) and "service_password" in directory:
        raise ConfigError(
            f"{file}: directory.service_password must not be in the config file; put it in "
            f"the secrets file {DEFAULT_SECRETS_DIR / SERVICE_PASSWORD_SECRET} (mode 0600) "
            "or the environment variable KIOSK_DIRECTORY__SERVICE_PASSWORD"
        )
    secret = _service_password(environ)
    if secret is not None:
        data = _merge(data, {"directory": {"service_password": secret}})
    try:
        return _validate(data, environ)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(file))) from None


def settings_from(data: Mapping[str, Any]) -> Settings:
    """Settings from a mapping alone (demo, tests): no file, no environment."""
    try:
        return _validate(dict(data), {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "settings")) from None


def _validate(data: dict[str, Any], environ: Mapping[str, str]) -> Settings:
    # pydantic-settings reads os.environ itself; give it only what was asked for.
    saved = {k: v for k, v in os.environ.items() if k.startswith("KIOSK_")}
    for key in saved:
        del os.environ[key]
    try:
        os.environ.update({k: v for k, v in environ.items() if k.startswith("KIOSK_")})
        os.environ.pop("KIOSK_DIRECTORY__SERVICE_PASSWORD", None)  # merged above, as a secret
        os.environ.pop("KIOSK_CONFIG", None)
        os.environ.pop("KIOSK_SECRETS_DIR", None)
        return Settings(**data)
    finally:
        for key in [k for k in os.environ if k.startswith("KIOSK_")]:
            del os.environ[key]
        os.environ.update(saved)


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(
            f"no configuration file at {file}: copy deploy/kiosk.toml.example there, "
            "name another with --config or $KIOSK_CONFIG, or try `kiosk demo`"
        ) from None
    except PermissionError:
        raise ConfigError(f"cannot read the configuration file {file}: permission denied") from None
    except IsADirectoryError:
        raise ConfigError(f"the configuration path {file} is a directory, not a file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file} is not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file} is not UTF-8 text") from None


def _service_password(environ: Mapping[str, str]) -> str | None:
    if environ.get("KIOSK_DIRECTORY__SERVICE_PASSWORD"):
        return environ["KIOSK_DIRECTORY__SERVICE_PASSWORD"]
    directories = [
        environ.get("KIOSK_SECRETS_DIR"),
        environ.get("CREDENTIALS_DIRECTORY"),
        str(DEFAULT_SECRETS_DIR),
    ]
    for directory in filter(None, directories):
        secret = Path(directory) / SERVICE_PASSWORD_SECRET
        try:
            return secret.read_text(encoding="utf-8").rstrip("\r\n")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"cannot read the secret file {secret}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"the secret file {secret} is not UTF-8 text") from None
    return None


def _merge(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def format_validation_error(exc: ValidationError, source: str) -> str:
    """One line per problem: where, what was given, what is expected."""
    lines = [f"{source}: invalid configuration"]
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"]) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            lines.append(f"  {location}: unknown key (check the spelling)")
            continue
        if error["type"] == "missing":
            lines.append(f"  {location}: required, but missing")
            continue
        given = error.get("input")
        if isinstance(given, (dict, list)) or "service_password" in location:
            lines.append(f"  {location}: {message}")
        else:
            lines.append(f"  {location} = {given!r}: {message}")
    return "\n".join(lines)
