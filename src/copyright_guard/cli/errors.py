"""One-line errors for the CLI: the cause and a hint, never a traceback."""

from __future__ import annotations

import os

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
