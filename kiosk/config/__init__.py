"""Configuration, as a package with one direction of imports:

- ``schema``: what every setting is (frozen dataclasses, bounds, checks between
  settings); standard library only, neither pydantic nor the backend;
- ``validation``: pydantic's ``TypeAdapter`` over the schema, one
  ``ConfigError`` naming every problem;
- ``sources``: where the file, the environment and the secrets are (standard
  library);
- ``readers``: the sources read with pydantic-settings;
- ``loading``: reading, merging and validating (``load_settings``,
  ``settings_from``, ``preflight``); it imports ``readers`` and
  ``validation`` when it loads, so importing it costs no pydantic;
- ``startup``: the kiosk's first frame from the raw file without pydantic
  (``provisional_settings``) and validation in a child (``PendingSettings``).

This package re-exports the schema alone: ``from kiosk.config import
Settings`` never loads pydantic. Loaders come from their modules.
"""

from kiosk.config.schema import (
    ARGON2_FLOOR_KIB,
    DEFAULT_MARKER_ATTRIBUTE,
    DEFAULT_QUESTIONNAIRE,
    DEFAULT_QUESTIONS,
    PRIVILEGED_GROUPS,
    ActivationSettings,
    AnswerHashSettings,
    AuditSettings,
    BackendSettings,
    Bounds,
    DirectorySettings,
    DomainSettings,
    EligibilitySettings,
    FactorGroupSettings,
    FactorSettings,
    FeatureSettings,
    HelpdeskSettings,
    KioskSettings,
    MailSettings,
    MarkerSettings,
    ProofSettings,
    QuestionnaireStep,
    QuestionSettings,
    QuestionsSettings,
    RemindersSettings,
    Secret,
    SettingError,
    Settings,
    StoreSettings,
    ThemeName,
    ThrottleSettings,
    argon2_floor_kib,
    default_activation_filter,
)

__all__ = [
    "ARGON2_FLOOR_KIB",
    "DEFAULT_MARKER_ATTRIBUTE",
    "DEFAULT_QUESTIONNAIRE",
    "DEFAULT_QUESTIONS",
    "PRIVILEGED_GROUPS",
    "ActivationSettings",
    "AnswerHashSettings",
    "AuditSettings",
    "BackendSettings",
    "Bounds",
    "DirectorySettings",
    "DomainSettings",
    "EligibilitySettings",
    "FactorGroupSettings",
    "FactorSettings",
    "FeatureSettings",
    "HelpdeskSettings",
    "KioskSettings",
    "MailSettings",
    "MarkerSettings",
    "ProofSettings",
    "QuestionSettings",
    "QuestionnaireStep",
    "QuestionsSettings",
    "RemindersSettings",
    "Secret",
    "SettingError",
    "Settings",
    "StoreSettings",
    "ThemeName",
    "ThrottleSettings",
    "argon2_floor_kib",
    "default_activation_filter",
]
