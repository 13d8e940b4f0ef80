"""Keys kept outside the store (the answers' pepper, the TOTP key): where a
key file is, and reading it, made on first use.

A copy of the store alone (a backup, a dump) must not be enough to guess
answers or compute codes, so these keys live in files of their own, in the
secrets directory or a systemd credential, never in the database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kiosk.backend.errors import StoreError

__all__ = ["find_key_file", "load_or_create"]


def find_key_file(name: str, configured: Path | None, environ: Mapping[str, str]) -> Path | None:
    """``configured``; else an existing ``name`` in a secrets directory (a
    systemd credential among them); else where it can be made: the first
    secrets directory the process may write to (never the read-only
    credentials directory). None: nowhere."""
    if configured is not None:
        return configured
    from kiosk.config.sources import secrets_dirs

    directories = secrets_dirs(environ)
    for directory in directories:
        if (directory / name).is_file():
            return directory / name
    credentials = environ.get("CREDENTIALS_DIRECTORY")
    for directory in directories:
        if str(directory) != credentials and directory.is_dir() and os.access(directory, os.W_OK | os.X_OK):
            return directory / name
    return None


def load_or_create(path: Path, size: int, what: str) -> bytes:
    """The key in ``path``; made (``size`` random bytes, mode 0600) if there is
    none. Two processes making it at once: the first to link it wins, both
    read it. ``what`` names the key in errors ("the TOTP key")."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        import secrets

        fresh = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(secrets.token_bytes(size))
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(fresh, path)
            except FileExistsError:
                pass
        except OSError as exc:
            raise StoreError(f"cannot make {what} {path}: {exc.strerror or exc}") from None
        finally:
            fresh.unlink(missing_ok=True)
        key = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(key) != size:
        raise StoreError(f"{what} {path} is not {size} bytes")
    return key
