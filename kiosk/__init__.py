"""kiosk: a self-service password reset terminal for Active Directory."""

__version__ = "0.1.0"
