"""The checkpoint signer key: where it lives, how it is made and read.

On by default: a crawl with no key configured uses ``default_key_path()`` -
``$XDG_CONFIG_HOME/copyright-guard/log-key`` (``~/.config/copyright-guard/log-key``) - and creates
the key there on first use (mode 0600, logged with its place). A key kept on another machine than
the database (``audit keygen --out FILE`` there, the setting naming it) is stronger: whoever can
write the database then still cannot sign a checkpoint for a rewritten log (docs/audit-integrity.md).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from ..core.files import write_new_file
from .note import NoteError, Signer, new_signer, parse_signer

MAX_KEY_BYTES = 4096


class LogKeyError(ValueError):
    """A key file that cannot be read or written; one line naming the file."""


class KeyExistsError(LogKeyError):
    """A key file is already where a new one was to be written."""


def default_key_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "copyright-guard" / "log-key"


def default_key_name() -> str:
    host = "".join(c for c in socket.gethostname() if c.isalnum() or c in "-._") or "host"
    return f"copyright-guard-{host}"


def write_new_key(path: Path, name: str | None = None) -> Signer:
    """Create a signer key at ``path`` (mode 0600, never overwriting a file)."""
    try:
        signer = new_signer(name or default_key_name())
    except NoteError as exc:
        raise LogKeyError(str(exc)) from None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_new_file(path, (signer.encode() + "\n").encode("ascii"), 0o600)
    except FileExistsError:
        raise KeyExistsError(f"{path}: a file is already there (a key is never overwritten)") from None
    except OSError as exc:
        raise LogKeyError(f"{path}: cannot create the key file ({exc.strerror})") from None
    return signer


def read_key(path: Path) -> Signer:
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_KEY_BYTES + 1)
    except OSError as exc:
        raise LogKeyError(f"{path}: cannot read the log key ({exc.strerror})") from None
    if len(data) > MAX_KEY_BYTES:
        raise LogKeyError(f"{path}: too large to be a log key")
    try:
        return parse_signer(data.decode("ascii"))
    except (UnicodeDecodeError, NoteError) as exc:
        raise LogKeyError(f"{path}: {exc}") from None


def load_or_create(configured: str | None) -> tuple[Signer, Path, bool]:
    """The signer named by the settings, or the default key (created on first use).

    Returns (signer, path, created). A configured key that is missing is an error: the operator
    named it, so silently signing with another key would mislead.
    """
    if configured:
        path = Path(configured).expanduser()
        return read_key(path), path, False
    path = default_key_path()
    if path.exists():
        return read_key(path), path, False
    try:
        return write_new_key(path), path, True
    except KeyExistsError:  # another worker starting at the same moment created it (whole: write_new_file)
        return read_key(path), path, False
