"""Email delivery for the complaint outbox over SMTP (RFC 5321), with STARTTLS (RFC 3207) or
implicit TLS (RFC 8314) and optional AUTH (RFC 4954).

Messages wait in the ``outbox`` table (store/outbox.py) until a server accepts them; a failed
attempt is rescheduled with exponential backoff, so a mail server outage delays mail but never
loses it. Settings come from options or these environment variables:

    COPYRIGHT_GUARD_SMTP_HOST       server name (no host: mail stays queued)
    COPYRIGHT_GUARD_SMTP_PORT       default 587 for starttls, 465 for tls, 25 for none
    COPYRIGHT_GUARD_SMTP_SECURITY   starttls (default) | tls | none
    COPYRIGHT_GUARD_SMTP_USER       AUTH user name (AUTH only if set)
    COPYRIGHT_GUARD_SMTP_PASSWORD   AUTH password
    COPYRIGHT_GUARD_SMTP_FROM       sender address (default: the policy's complaints.contact_email)
    COPYRIGHT_GUARD_SMTP_CA_FILE    CA bundle to verify the server with (default: the system's)
    COPYRIGHT_GUARD_SMTP_TIMEOUT    seconds per connection attempt (default 10)
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import Engine

from .store import outbox
from .store.outbox import OutboxMessage

LOG = logging.getLogger("copyright_guard.notify")
SECURITY = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
ENV_VARS = {
    "host": "COPYRIGHT_GUARD_SMTP_HOST",
    "port": "COPYRIGHT_GUARD_SMTP_PORT",
    "security": "COPYRIGHT_GUARD_SMTP_SECURITY",
    "user": "COPYRIGHT_GUARD_SMTP_USER",
    "password": "COPYRIGHT_GUARD_SMTP_PASSWORD",
    "from": "COPYRIGHT_GUARD_SMTP_FROM",
    "ca_file": "COPYRIGHT_GUARD_SMTP_CA_FILE",
    "timeout": "COPYRIGHT_GUARD_SMTP_TIMEOUT",
}


class SMTPConfigError(ValueError):
    """Unusable SMTP settings. ``str()`` is one line."""


@dataclass(frozen=True, slots=True)
class SMTPSettings:
    host: str
    sender: str
    port: int = 0
    security: str = "starttls"
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    timeout: float = 10.0

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS[self.security]

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file or None)


def settings_from(values: Mapping[str, object], *, default_sender: str) -> SMTPSettings | None:
    """Settings from option values (keys host, port, ...; ``None`` = unset), falling back to the
    environment. ``None`` when no host is configured."""

    def get(key: str) -> str:
        value = values.get(key)
        if value is None or value == "":
            value = os.environ.get(ENV_VARS[key], "")
        return str(value)

    host = get("host")
    if not host:
        return None
    security = get("security") or "starttls"
    if security not in SECURITY:
        raise SMTPConfigError(f"SMTP security {security!r} is not one of {', '.join(SECURITY)}")
    try:
        port = int(get("port") or 0)
        timeout = float(get("timeout") or 10)
    except ValueError:
        raise SMTPConfigError("SMTP port and timeout must be numbers") from None
    if not 0 <= port < 65536:
        raise SMTPConfigError(f"SMTP port {port} is out of range")
    username, password = get("user"), get("password")
    if username and security == "none" and not host.startswith("127.") and host != "localhost":
        # RFC 4954 §4: never send credentials in the clear over the network.
        raise SMTPConfigError("SMTP AUTH over an unencrypted connection is refused (use starttls or tls)")
    return SMTPSettings(host=host, port=port, security=security, username=username, password=password,
                        sender=get("from") or default_sender, ca_file=get("ca_file"), timeout=timeout)


def email_for(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_addr
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at)
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=sender.rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    email.set_content(message.body)
    return email


def send(settings: SMTPSettings, message: OutboxMessage) -> None:
    """Hand one message to the server. Raises ``smtplib.SMTPException`` or ``OSError``."""
    email = email_for(message, settings.sender)
    if settings.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.effective_port, timeout=settings.timeout,
                                                context=settings.ssl_context())
    else:
        client = smtplib.SMTP(settings.host, settings.effective_port, timeout=settings.timeout)
    with client:
        if settings.security == "starttls":
            client.starttls(context=settings.ssl_context())  # raises if the server does not offer it
        if settings.username:
            client.login(settings.username, settings.password)
        client.send_message(email)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(engine: Engine, settings: SMTPSettings, now: datetime,
                sender: Callable[[SMTPSettings, OutboxMessage], None] = send) -> DeliveryReport:
    """Try every message due at ``now`` once; failures are rescheduled with backoff."""
    report = DeliveryReport()
    for message in outbox.due(engine, now):
        if not outbox.claim(engine, message, now):
            continue  # another worker has it
        try:
            sender(settings, message)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
            next_at = outbox.mark_failed(engine, message, error, now)
            report.failed += 1
            report.errors.append(f"message {message.id} to {message.to_addr}: {error}; next attempt {next_at.isoformat()}")
            LOG.warning("outbox message %s not delivered: %s", message.id, error)
        else:
            outbox.mark_sent(engine, message.id, now)
            report.sent += 1
    return report


class OutboxWorker(threading.Thread):
    """Delivers the outbox every ``interval`` seconds in the background (used by ``serve``)."""

    def __init__(self, engine: Engine, settings: SMTPSettings, clock: Callable[[], datetime], interval: float = 30.0) -> None:
        super().__init__(name="copyright-guard-outbox", daemon=True)
        self.engine, self.settings, self.clock, self.interval = engine, settings, clock, interval
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                deliver_due(self.engine, self.settings, self.clock())
            except Exception:  # noqa: BLE001 - a database hiccup must not end delivery for good
                LOG.exception("outbox delivery failed; retrying in %s s", self.interval)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
