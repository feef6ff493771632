"""Opening a file the user named (a policy, a seed list, an exclusion list, an export, an attachment).

Every command that reads a user-named file goes through :func:`open_input_file` (or
:func:`read_input_file`), so that none of them can hang or read forever on something that only
looks like a file:

* a FIFO with no writer blocks a plain ``open()`` forever; it is opened with ``O_NONBLOCK``
  (which returns at once) and then refused;
* ``/dev/zero``, ``/dev/urandom``, a terminal or any other device, a socket or a directory has no
  end (or no meaning) as input: only a regular file is read (``fstat`` + ``S_ISREG`` on the opened
  descriptor, so a file swapped for a FIFO between the check and the open is caught too).

A refusal is an :class:`InputFileError` whose ``str()`` is one line naming the path, e.g.
``seeds.fifo: not a regular file (a FIFO)``. Standard input (``-``) is the caller's business: the
commands that accept it read it with their own size limit.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import BinaryIO

# O_NONBLOCK makes open() of a FIFO return at once instead of waiting for a writer; regular files
# ignore it. O_NOCTTY: opening a terminal device must never make it our controlling terminal.
# Neither exists on Windows (where there are no FIFOs to block on).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) \
    | getattr(os, "O_BINARY", 0)


class InputFileError(ValueError):
    """A user-named input file cannot be read. ``str()`` is one line naming the path and the cause."""


def file_kind(mode: int) -> str:
    """What a non-regular ``st_mode`` is, for a message: ``a FIFO``, ``a character device``."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "an unusual file type"


def _shown(path: str | os.PathLike) -> str:
    """The path as the user gave it; quoted and escaped if it holds a line break or other control
    character (the message must stay one line)."""
    name = os.fsdecode(path)
    return name if name.isprintable() else repr(name)


def _refuse(path: str | os.PathLike, mode: int, what: str) -> InputFileError:
    path = _shown(path)
    article = "an" if what[:1] in "aeiou" else "a"
    if stat.S_ISDIR(mode):
        return InputFileError(f"{path}: is a directory; give the path of {article} {what}")
    return InputFileError(f"{path}: not a regular file ({file_kind(mode)}); give the path of {article} {what}")


def open_input_file(path: str | os.PathLike, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading, if it is a regular file; else :class:`InputFileError`
    (``what`` names the file in the message: ``policy file``, ``seed file``).

    Never blocks on a FIFO and never opens a device for reading. The caller closes the file (it is
    a context manager) and still reads it with a size limit: a regular file can be huge.
    """
    try:
        # A first look without opening: opening some devices has effects of its own (a tape
        # rewinds, a modem line is raised) even if we read nothing.
        mode = os.stat(path).st_mode
        if stat.S_ISREG(mode):
            descriptor = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise InputFileError(f"{_shown(path)}: cannot read {what}: {exc.strerror or exc}") from None
    except ValueError as exc:  # a NUL byte in the path
        raise InputFileError(f"{_shown(path)}: cannot read {what}: {exc}") from None
    if not stat.S_ISREG(mode):
        raise _refuse(path, mode, what)
    try:
        mode = os.fstat(descriptor).st_mode  # what was actually opened (it may have been swapped since)
        if not stat.S_ISREG(mode):
            raise _refuse(path, mode, what)
        os.set_blocking(descriptor, True)  # ordinary reads from here on
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def read_input_file(path: str | os.PathLike, max_bytes: int, what: str = "file") -> bytes:
    """At most ``max_bytes + 1`` bytes of the regular file ``path``: one byte past the limit is
    enough for the caller to refuse the file without reading all of it."""
    with open_input_file(path, what) as handle:
        try:
            return handle.read(max_bytes + 1)
        except OSError as exc:  # EIO, or EISDIR on some systems
            raise InputFileError(f"{_shown(path)}: cannot read {what}: {exc.strerror or exc}") from None


# What link() answers on a file system without hard links (FAT, some FUSE and network mounts).
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}


def write_new_file(path: str | os.PathLike, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path``, which must not exist yet: a key or a policy already in use is
    never replaced, and two writers cannot both win. ``mode`` is set at creation, so a 0o600
    secret is never readable by others, not even for a moment (the umask can only narrow it).

    The file appears whole or not at all: the data goes to a temporary file beside it, which is
    then hard-linked to ``path`` (``link`` fails if ``path`` exists, atomically). Several workers
    starting at once all needing the default log key: one creates it, the others read a complete
    key, never a half-written one. Where the file system has no hard links, the data is written
    to ``path`` opened with ``O_EXCL`` instead.

    Raises :class:`FileExistsError` when something is there, :class:`OSError` on any other failure;
    the caller words the one-line error.
    """
    path = os.fspath(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    temporary = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(4).hex()}")
    try:
        descriptor = os.open(temporary, flags, mode)
    except OSError:
        descriptor = None  # a directory we may create path in but not a second name: write path itself
    if descriptor is None:
        with os.fdopen(os.open(path, flags, mode), "wb") as handle:
            handle.write(data)
        return
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except OSError as exc:
            if exc.errno not in _NO_HARD_LINKS:
                raise  # FileExistsError among them
            with os.fdopen(os.open(path, flags, mode), "wb") as handle:  # no hard links here: the O_EXCL write
                handle.write(data)
    finally:
        with contextlib.suppress(OSError):  # never hide the error that brought us here
            os.unlink(temporary)
