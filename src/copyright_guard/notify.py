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
import re
import smtplib
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from sqlalchemy import Engine

from .core.complaints.workflow import EMAIL_RE
from .core.files import InputFileError, open_input_file
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


OPTIONS = {  # the command-line option of each setting (the password and timeout have none)
    "host": "--smtp-host",
    "port": "--smtp-port",
    "security": "--smtp-security",
    "user": "--smtp-user",
    "from": "--smtp-from",
    "ca_file": "--smtp-ca-file",
}
MAX_TIMEOUT = 600.0  # seconds; a connection attempt never needs more
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


class SMTPConfigError(ValueError):
    """Unusable SMTP settings. ``str()`` is one line naming the option or variable."""


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
        """The context to verify the server with; :class:`SMTPConfigError` naming the CA file if it
        cannot be used (it is checked at start-up, but may have gone since)."""
        return tls_context(self.ca_file)


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """The system's trusted certificates, or only those of the PEM bundle ``ca_file``. A regular
    file only (core/files.py): a FIFO would hang OpenSSL's read."""
    if not ca_file:
        return ssl.create_default_context()
    shown = ca_file if ca_file.isprintable() else repr(ca_file)
    try:
        with open_input_file(ca_file, "CA file"):
            pass
        return ssl.create_default_context(cafile=ca_file)
    except InputFileError as exc:
        raise SMTPConfigError(str(exc)) from None
    except ssl.SSLError as exc:
        raise SMTPConfigError(f"{shown}: no certificate in it to trust ({exc.reason or exc}); "
                              "give a CA bundle in PEM format") from None
    except (OSError, ValueError) as exc:
        raise SMTPConfigError(f"{shown}: cannot read CA file: {getattr(exc, 'strerror', None) or exc}") from None


def settings_from(values: Mapping[str, object], *, default_sender: str) -> SMTPSettings | None:
    """Settings from option values (keys host, port, ...; ``None`` = unset), falling back to the
    environment. ``None`` when no host is configured.

    Every setting given is checked, with or without a host (a mistyped one would otherwise only
    show when a host is added): :class:`SMTPConfigError` names the option or variable it came from
    and what is wrong with it; the CA file must be a readable PEM bundle."""

    def get(key: str) -> tuple[str, str]:
        value = values.get(key)
        if value is not None and value != "":
            return str(value), OPTIONS.get(key, f"${ENV_VARS[key]}")
        return os.environ.get(ENV_VARS[key], ""), f"${ENV_VARS[key]}"

    def refuse(source: str, value: str, problem: str) -> SMTPConfigError:
        return SMTPConfigError(f"{source} {value[:80]!r}: {problem}")

    host, host_from = get("host")
    if host and (len(host) > 253 or _CONTROL.search(host) or any(c.isspace() for c in host)):
        raise refuse(host_from, host, "not a host name or address")
    security, security_from = get("security")
    security = security.strip().lower() or "starttls"
    if security not in SECURITY:
        raise refuse(security_from, security, f"not one of {', '.join(SECURITY)}")
    text, port_from = get("port")
    try:
        port = int(text or 0)
    except ValueError:
        raise refuse(port_from, text, "not a port number") from None
    if not 0 < port < 65536 and text:
        raise refuse(port_from, text, "not a port number (1-65535)")
    text, timeout_from = get("timeout")
    try:
        timeout = float(text or 10)
    except ValueError:
        raise refuse(timeout_from, text, "not a number of seconds") from None
    if not 0 < timeout <= MAX_TIMEOUT:  # also NaN
        raise refuse(timeout_from, text, f"give more than 0 and at most {MAX_TIMEOUT:g} seconds")
    (username, user_from), (password, _) = get("user"), get("password")
    if _CONTROL.search(username):
        raise refuse(user_from, username, "must not contain control characters")
    sender, sender_from = get("from")
    if sender:
        _, address = parseaddr(sender)
        if _CONTROL.search(sender) or not EMAIL_RE.fullmatch(address):
            raise refuse(sender_from, sender, "not an email address")
    ca_file, ca_from = get("ca_file")
    if ca_file:
        try:
            tls_context(ca_file)
        except SMTPConfigError as exc:
            raise SMTPConfigError(f"{ca_from}: {exc}") from None
    if not host:
        return None
    if username and security == "none" and not host.startswith("127.") and host != "localhost":
        # RFC 4954 §4: never send credentials in the clear over the network.
        raise SMTPConfigError(f"SMTP AUTH over an unencrypted connection is refused ({security_from} none with "
                              f"{user_from}); use starttls or tls")
    return SMTPSettings(host=host, port=port, security=security, username=username, password=password,
                        sender=sender or default_sender, ca_file=ca_file, timeout=timeout)


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
        except (smtplib.SMTPException, OSError, ssl.SSLError, SMTPConfigError) as exc:
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
