"""``copyright-guard serve``: run the complaint portal and its JSON API (uvicorn)."""

from __future__ import annotations

import ipaddress
import os
import socket

import click

from .complaints import policy_option, smtp_options, smtp_settings
from .db import db_option, open_engine
from .errors import CLIError
from .policy_cmd import configured_policy_or_fail, signer_or_fail

SECRET_ENV = "COPYRIGHT_GUARD_SECRET_KEY"


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced: a taken port or an unknown host is
    one line and exit 2, not "portal on ..." followed by uvicorn's error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise CLIError(f"--host {host!r}: {exc.strerror}", "give an IP address or a resolvable name") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: restart over TIME_WAIT
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise CLIError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                       "choose another --port or stop what uses it") from None
    return sock


def forwarded_allow_ips(text: str | None) -> list[str]:
    """The reverse proxies ``--forwarded-allow-ips`` names: addresses, networks, or ``*``."""
    trusted = [item.strip() for item in (text or "").split(",") if item.strip()]
    for item in trusted:
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item) if "/" in item else ipaddress.ip_address(item)
        except ValueError:
            raise CLIError(f"--forwarded-allow-ips: {item[:80]!r} is not an IP address or network",
                           "give the proxy's addresses, e.g. --forwarded-allow-ips 127.0.0.1,10.0.0.0/8") from None
    return trusted


def server_config(app, host: str, port: int, trusted_proxies: list[str]):
    """uvicorn's settings. Client addresses (the key of both rate limits) come from the connection,
    unless it comes from a trusted proxy: uvicorn's default trusts X-Forwarded-For from 127.0.0.1,
    so any process on the host - or a proxy that passes the header on unchecked - could claim a
    fresh address per request."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False,
                          proxy_headers=bool(trusted_proxies), forwarded_allow_ips=trusted_proxies or [])


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--secure-cookies", is_flag=True,
              help="Mark the session cookie Secure (set this when a TLS proxy serves the portal over HTTPS).")
@click.option("--submissions-per-hour", default=10, show_default=True, type=click.IntRange(min=1),
              help="Complaints accepted per client address per hour.")
@click.option("--forwarded-allow-ips", "forwarded", metavar="ADDRESSES", default=None,
              help="Comma-separated addresses or networks of reverse proxies whose X-Forwarded-For and "
                   "X-Forwarded-Proto are believed (default: none; the connecting address is the client).")
@click.option("--mail-interval", default=30.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds between outbox delivery rounds (when an SMTP host is configured).")
@smtp_options
@policy_option
@db_option
def serve(host, port, secure_cookies, submissions_per_hour, forwarded, mail_interval, policy_file, db_url, **smtp) -> None:
    """Serve the complaint portal: public pages, reviewer pages, JSON API (/openapi.json).

    Session cookies are signed with $COPYRIGHT_GUARD_SECRET_KEY (a random key otherwise: reviewers
    must log in again after a restart). With an SMTP host configured, queued notification emails
    are delivered in the background. Behind a reverse proxy, name it with --forwarded-allow-ips so
    that rate limits apply per real client.

    \b
    Example:
      copyright-guard serve --host 127.0.0.1 --port 8080 --db sqlite:///copyright-guard.db
    """
    from ..notify import OutboxWorker
    from ..web.app import create_app, utc_now

    trusted_proxies = forwarded_allow_ips(forwarded)
    policy = configured_policy_or_fail(policy_file)  # no placeholder operator or contact on the portal
    signer = signer_or_fail(policy)  # the key directory is published from the policy's signing key
    settings = smtp_settings(smtp, policy)  # every SMTP setting given is checked, with or without a host
    engine = open_engine(db_url, must_exist=False)
    secret = os.environ.get(SECRET_ENV, "")
    if secret and len(secret) < 32:
        raise CLIError(f"${SECRET_ENV} is too short", "use at least 32 random characters")
    app = create_app(engine, policy, secret_key=secret or None, secure_cookies=secure_cookies,
                     submissions_per_hour=submissions_per_hour, signer=signer)
    listener = _listen(host, port)
    port = listener.getsockname()[1]  # the real one when --port 0
    worker = None
    if settings is not None:
        worker = OutboxWorker(engine, settings, utc_now, interval=mail_interval)
        worker.start()
    else:
        click.echo("no SMTP host configured: notification emails stay in the outbox", err=True)
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address in a URL (RFC 3986 §3.2.2)
    click.echo(f"complaint portal on http://{shown}:{port}/ (Ctrl-C to stop)", err=True)
    try:
        import uvicorn

        server = uvicorn.Server(server_config(app, host, port, trusted_proxies))
        server.run(sockets=[listener])
    finally:
        listener.close()
        if worker is not None:
            worker.stop()


COMMANDS = [serve]
