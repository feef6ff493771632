"""One-line errors for the CLI: the cause and a hint, never a traceback."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import click


class CLIError(click.ClickException):
    """A usage or configuration error: printed as one line, exit status 2."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(f"{message}" + (f" (hint: {hint})" if hint else ""))


class Group(click.Group):
    """A click group that turns any unexpected exception into one line on stderr (exit 2)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            # Ctrl-C outside a crawl (which reports it in its summary): one line and 128 + SIGINT,
            # the shell convention, instead of click's "Aborted!" with status 1.
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None
        except BrokenPipeError:  # output piped into `head`: not an error
            raise SystemExit(0) from None
        except Exception as exc:  # noqa: BLE001 - the one place that guarantees "never a traceback"
            if os.environ.get("COPYRIGHT_GUARD_DEBUG"):
                raise  # the developer asked for the traceback
            name = type(exc).__name__
            raise CLIError(f"{name}: {exc}".splitlines()[0][:500], "re-run with COPYRIGHT_GUARD_DEBUG=1 for details") from exc


@contextmanager
def output_file(path: str, mode: str = "w", **kwargs) -> Iterator[IO]:
    """``--out PATH`` opened for writing. Any OSError while opening, writing or closing it (a
    missing directory, no permission, a full disk) is one line naming the path and the OS error -
    never a traceback without the path. A FIFO is refused (opening one with no reader blocks for
    ever); a device such as /dev/null is written as asked."""
    try:
        mode_bits = os.stat(path).st_mode
    except OSError:
        mode_bits = None
    if mode_bits is not None and (stat.S_ISFIFO(mode_bits) or stat.S_ISSOCK(mode_bits)):
        raise CLIError(f"--out {path}: not a regular file ({'a FIFO' if stat.S_ISFIFO(mode_bits) else 'a socket'})",
                       "give a file path, or leave --out out to write to stdout")
    try:
        handle = open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"}), **kwargs)
    except OSError as exc:
        raise CLIError(f"--out {path}: cannot write: {exc.strerror or exc}", "give a writable file path") from None
    try:
        yield handle
        handle.close()  # flushes: a full disk often shows only here
    except OSError as exc:
        raise CLIError(f"--out {path}: cannot write: {exc.strerror or exc}", "the file is incomplete") from None
    finally:
        if not handle.closed:
            try:
                handle.close()
            except OSError:
                pass  # already reported above
