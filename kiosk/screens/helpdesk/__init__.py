"""The helpdesk's screens (``kiosk helpdesk``): sign-in, search, the account
card, caller verification, the confirmation dialog, the temporary password."""
