"""Names and numbers of Active Directory the adapter relies on: OIDs, flags,
the attributes it reads, well-known RIDs. No imports, no behaviour."""

from __future__ import annotations

#: The one logger of the adapter (every module of the package logs here).
LOGGER = "kiosk.directory.ad"

#: Read into ``Account.attributes`` unless the caller names others.
DEFAULT_EXTRA_ATTRIBUTES: tuple[str, ...] = ("employeeID", "department", "mail")

#: LDAP_SERVER_POLICY_HINTS_OID (Windows 2012+): a reset with it enforces
#: password history like a change does. Value: SEQUENCE { INTEGER 1 } in BER.
POLICY_HINTS_OID = "1.2.840.113556.1.4.2239"
POLICY_HINTS_VALUE = b"\x30\x03\x02\x01\x01"

#: LDAP_MATCHING_RULE_IN_CHAIN: transitive (nested) group membership.
IN_CHAIN = "1.2.840.113556.1.4.1941"

#: Simple paged results control (RFC 2696).
PAGED_RESULTS_OID = "1.2.840.113556.1.4.319"

UF_ACCOUNTDISABLE = 0x0002
UF_LOCKOUT = 0x0010  # only meaningful in msDS-User-Account-Control-Computed
UF_DONT_EXPIRE_PASSWD = 0x10000

ACCOUNT_ATTRIBUTES = (
    "objectGUID",
    "objectSid",
    "distinguishedName",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",  # constructed: must be asked for by name
    "msDS-UserPasswordExpiryTimeComputed",  # constructed
    "lockoutTime",
    "badPwdCount",
    "pwdLastSet",
    "accountExpires",
    "adminCount",
    "lastLogonTimestamp",
    "lastLogon",
    "primaryGroupID",
    "memberOf",  # direct groups (distribution groups are in no token)
    "preferredLanguage",  # the language of mails no visit chose
)

#: Every person-user object (not computers, not contacts).
USER_FILTER = "(&(objectCategory=person)(objectClass=user))"
#: What the helpdesk look-up matches by prefix.
SEARCH_ATTRIBUTES = ("sAMAccountName", "userPrincipalName", "displayName", "givenName", "sn")

DOMAIN_POLICY_ATTRIBUTES = (
    "minPwdLength",
    "pwdProperties",
    "pwdHistoryLength",
    "minPwdAge",
    "maxPwdAge",
    "lockoutThreshold",
    "lockoutDuration",
)

PSO_ATTRIBUTES = (
    "msDS-MinimumPasswordLength",
    "msDS-PasswordComplexityEnabled",
    "msDS-PasswordHistoryLength",
    "msDS-MinimumPasswordAge",
    "msDS-MaximumPasswordAge",
    "msDS-LockoutThreshold",
    "msDS-LockoutDuration",
)

#: Where fine-grained password policies (PSOs) live, below the domain's naming context.
PASSWORD_SETTINGS_CONTAINER = "CN=Password Settings Container,CN=System"

#: Well-known RIDs of privileged domain groups (and the built-in Administrator).
PRIVILEGED_DOMAIN_RIDS: dict[int, str] = {
    498: "Enterprise Read-only Domain Controllers",
    500: "Administrator",
    502: "krbtgt",
    512: "Domain Admins",
    516: "Domain Controllers",
    518: "Schema Admins",
    519: "Enterprise Admins",
    520: "Group Policy Creator Owners",
    521: "Read-only Domain Controllers",
    526: "Key Admins",
    527: "Enterprise Key Admins",
}
#: Privileged BUILTIN groups (S-1-5-32-RID).
PRIVILEGED_BUILTIN_RIDS: dict[int, str] = {
    544: "Administrators",
    548: "Account Operators",
    549: "Server Operators",
    550: "Print Operators",
    551: "Backup Operators",
}
