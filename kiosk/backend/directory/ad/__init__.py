"""Active Directory over LDAPS or StartTLS, with ldap3.

Only this package imports ldap3 (the factory imports it lazily, so the demo
and the first frame don't pay ~90 ms for it). Its parts, each importing only
those listed before it:

* ``constants``: OIDs, flags, attribute lists, well-known RIDs;
* ``codec``: value codecs (FILETIME, intervals, GUIDs, SIDs, unicodePwd) and
  filters built from what a person typed;
* ``results``: LDAP result codes and their mapping to the kiosk's typed errors;
* ``connection``: domain controllers, TLS, failover, binds, the shared
  service-account connection;
* ``cache``, ``groups`` (tokenGroups: membership and privilege by SID), ``policy`` (password policy,
  PSOs, the policy-hints control's state);
* ``adapter``: ``ActiveDirectory``, the ``Directory`` protocol over them;
* ``probe``: ``ActiveDirectoryProbe``, the read-only questions ``kiosk check`` asks.
"""

from __future__ import annotations

from kiosk.backend.directory.ad.adapter import PAGE_SIZE, ActiveDirectory
from kiosk.backend.directory.ad.cache import POLICY_CACHE_SECONDS
from kiosk.backend.directory.ad.codec import (
    encode_password,
    filetime,
    guid_filter_value,
    guid_string,
    identity_filter,
    interval_seconds,
    privileged_sid_name,
    sibling_sid,
    sid_string,
)
from kiosk.backend.directory.ad.connection import (
    SERVICE_IDLE_SECONDS,
    SERVICE_RETRY_SECONDS,
    Endpoint,
    close_quietly,
    tls_context,
    tls_server_name,
)
from kiosk.backend.directory.ad.constants import (
    ACCOUNT_ATTRIBUTES,
    DEFAULT_EXTRA_ATTRIBUTES,
    IN_CHAIN,
    PASSWORD_SETTINGS_CONTAINER,
    POLICY_HINTS_OID,
    POLICY_HINTS_VALUE,
    PRIVILEGED_BUILTIN_RIDS,
    PRIVILEGED_DOMAIN_RIDS,
    UF_ACCOUNTDISABLE,
    UF_DONT_EXPIRE_PASSWD,
    UF_LOCKOUT,
)
from kiosk.backend.directory.ad.probe import (
    ActiveDirectoryProbe,
    DomainFacts,
    HintsProbe,
    PasswordSettingsFacts,
    RootDse,
    ServiceAccountFacts,
)
from kiosk.backend.directory.ad.results import ad_data_code, rejection_reason

# The names the single module had (bench/directory.py still uses them).
_ACCOUNT_ATTRIBUTES = ACCOUNT_ATTRIBUTES
_close_quietly = close_quietly

__all__ = [
    "ACCOUNT_ATTRIBUTES",
    "DEFAULT_EXTRA_ATTRIBUTES",
    "IN_CHAIN",
    "PAGE_SIZE",
    "PASSWORD_SETTINGS_CONTAINER",
    "POLICY_CACHE_SECONDS",
    "POLICY_HINTS_OID",
    "POLICY_HINTS_VALUE",
    "PRIVILEGED_BUILTIN_RIDS",
    "PRIVILEGED_DOMAIN_RIDS",
    "SERVICE_IDLE_SECONDS",
    "SERVICE_RETRY_SECONDS",
    "UF_ACCOUNTDISABLE",
    "UF_DONT_EXPIRE_PASSWD",
    "UF_LOCKOUT",
    "ActiveDirectory",
    "ActiveDirectoryProbe",
    "DomainFacts",
    "Endpoint",
    "HintsProbe",
    "PasswordSettingsFacts",
    "RootDse",
    "ServiceAccountFacts",
    "ad_data_code",
    "close_quietly",
    "encode_password",
    "filetime",
    "guid_filter_value",
    "guid_string",
    "identity_filter",
    "interval_seconds",
    "privileged_sid_name",
    "rejection_reason",
    "sibling_sid",
    "sid_string",
    "tls_context",
    "tls_server_name",
]
