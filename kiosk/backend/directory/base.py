"""The directory protocol: what self-service needs from Active Directory.

Implementations: ``ad.ActiveDirectory`` (ldap3 over LDAPS/StartTLS) and
``demo.DemoDirectory`` (in memory, for ``kiosk demo``). Every method may raise
``DirectoryUnavailable``; the others raise the typed errors named below.
Implementations must be safe to call from several worker threads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from kiosk.backend.model import Account, Identity, PasswordPolicy


class Directory(Protocol):
    #: Shown on screen and in ``kiosk check``: "Active Directory (kiosk.test)",
    #: "DEMO directory - not a real domain".
    label: str
    #: True only for the demo directory: the UI shows a demo banner.
    is_demo: bool

    def find_account(self, identity: Identity) -> Account | None:
        """The one account matching ``identity`` (case-insensitive), else None."""

    def refresh(self, account: Account) -> Account:
        """Read the account again by GUID (state may have changed). AccountNotFound."""

    def verify_password(self, account: Account, password: str) -> None:
        """Bind as the account. InvalidCredentials, AccountLocked, AccountDisabled,
        AccountExpired, PasswordExpired, PasswordMustChange (the password was right
        in the last three cases)."""

    def bind_as_nobody(self, password: str) -> None:
        """The work of a refused bind, for a name that is no account (or one the
        kiosk will not bind as): a bind as an object that cannot exist, so no
        account's lockout counts. Always InvalidCredentials; faults as usual."""

    def unlock(self, account: Account) -> None:
        """Clear the lockout (lockoutTime=0). InsufficientRights."""

    def reset_password(self, account: Account, new_password: str, *, must_change: bool = False) -> None:
        """Administrative reset, with password-history enforcement where the
        directory supports the policy-hints control. PasswordRejected, InsufficientRights."""

    def change_password(self, account: Account, old_password: str, new_password: str) -> None:
        """The user's own change (old + new). PasswordRejected (reason
        wrong_old_password for a wrong old one), AccountLocked."""

    def password_policy(self, account: Account) -> PasswordPolicy:
        """The effective policy: the resultant PSO if any, else the domain's."""

    # --- listing and search (helpdesk look-up, enrollment report) -------------

    def search_accounts(self, text: str, *, limit: int = 50) -> list[Account]:
        """User accounts whose sAMAccountName, userPrincipalName, displayName,
        givenName or sn starts with ``text`` (case-insensitive; the value is
        escaped), sorted by sAMAccountName, at most ``limit``. Empty text: []."""

    def accounts(self) -> Iterator[Account]:
        """Every user account under each configured domain's base DN (paged)."""

    # --- attributes (activation) ------------------------------------------------

    def read_attributes(self, account: Account, names: Sequence[str]) -> dict[str, list[str]]:
        """The current values of these plain string attributes, keyed by the
        names as given; attributes without a value are left out. AccountNotFound."""

    def update_attributes(self, account: Account, changes: Mapping[str, str | None]) -> None:
        """Replace plain string attributes (None deletes the attribute; deleting
        an absent one is no error). InsufficientRights."""

    def matches(self, account: Account, ldap_filter: str) -> bool:
        """Whether the account's entry matches the LDAP filter now (False if
        the entry is gone). ConfigError naming an invalid filter."""

    def close(self) -> None: ...
