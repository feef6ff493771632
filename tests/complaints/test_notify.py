"""Notification emails through a real local SMTP server (aiosmtpd on 127.0.0.x): delivery,
STARTTLS and implicit TLS with AUTH, and nothing lost while the server is down."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import ssl
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from copyright_guard import notify
from copyright_guard.core.complaints import workflow as wf
from copyright_guard.core.policy import load_policy
from copyright_guard.store import complaints as store
from copyright_guard.store import outbox
from copyright_guard.store.db import connect

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HOST = "127.0.0.25"


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.original_content or envelope.content, policy=email_policy.default)))
        return "250 OK"


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@pytest.fixture
def engine(sqlite_url):
    engine = connect(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    """A self-signed certificate for HOST, and its file to trust (as COPYRIGHT_GUARD_SMTP_CA_FILE would)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "copyright-guard test SMTP")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(dt.datetime.now(dt.timezone.utc) - timedelta(days=1))
            .not_valid_after(dt.datetime.now(dt.timezone.utc) + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_file), str(key_file)


def server_context(tls_files) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    return context


def checker(user: str, password: str):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == user.encode() and auth_data.password == password.encode()
        return AuthResult(success=ok, handled=False)
    return authenticate


def decided_complaint(engine, *, email="ada@example.org"):
    policy = load_policy()
    submission, errors = wf.validate_submission({
        "name": "Ada", "email": email, "role": "rightsholder", "type": "other",
        "description": "A description that is long enough.", "urls": "https://example.org/a"})
    assert not errors
    record, _ = store.submit(engine, submission, now=NOW, rules=policy.complaints)
    for to in ("acknowledged", "under_review", "rejected"):
        store.transition(engine, record.complaint.reference, to, actor="rev1", why="the opt-out was not in place then",
                         now=NOW, rules=policy.complaints)
    return record.complaint.reference


def test_acknowledgement_and_decision_are_delivered(engine):
    reference = decided_complaint(engine)
    inbox = Inbox()
    port = free_port(HOST)
    controller = Controller(inbox, hostname=HOST, port=port)
    controller.start()
    try:
        settings = notify.SMTPSettings(host=HOST, port=port, security="none", sender="copyright@example.invalid")
        report = notify.deliver_due(engine, settings, NOW)
    finally:
        controller.stop()
    assert (report.sent, report.failed) == (3, 0)
    (to_receipt, receipt), (to_ack, ack), (to_decision, decision) = inbox.messages
    assert to_receipt == to_ack == to_decision == ["ada@example.org"]
    assert receipt["Subject"] == f"[{reference}] Receipt of your copyright complaint"
    assert reference in receipt.get_content() and "tracking token" in receipt.get_content()
    assert ack["Subject"] == f"[{reference}] We have received your copyright complaint"
    assert decision["Subject"] == f"[{reference}] Decision on your copyright complaint: Rejected"
    assert "the opt-out was not in place then" in decision.get_content()
    assert ack["Auto-Submitted"] == "auto-generated" and ack["From"] == "copyright@example.invalid"
    assert outbox.messages(engine, unsent_only=True) == []


def test_nothing_is_lost_while_the_server_is_down(engine):
    decided_complaint(engine)
    port = free_port(HOST)
    settings = notify.SMTPSettings(host=HOST, port=port, security="none", sender="copyright@example.invalid", timeout=2)
    down = notify.deliver_due(engine, settings, NOW)
    assert (down.sent, down.failed) == (0, 3) and "refused" in down.errors[0].lower()
    waiting = outbox.messages(engine, unsent_only=True)
    assert [m.attempts for m in waiting] == [1, 1, 1]
    assert all(m.next_attempt_at == NOW + timedelta(seconds=60) and m.last_error for m in waiting)
    assert notify.deliver_due(engine, settings, NOW + timedelta(seconds=30)).sent == 0  # backing off

    inbox = Inbox()
    controller = Controller(inbox, hostname=HOST, port=port)
    controller.start()
    try:
        later = notify.deliver_due(engine, settings, NOW + timedelta(seconds=61))
    finally:
        controller.stop()
    assert (later.sent, later.failed) == (3, 0) and len(inbox.messages) == 3
    assert outbox.messages(engine, unsent_only=True) == []


def test_backoff_doubles_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert outbox.backoff(30).total_seconds() == outbox.BACKOFF_MAX_SECONDS


def test_starttls_with_auth(engine, tls_files):
    decided_complaint(engine)
    inbox = Inbox()
    port = free_port(HOST)
    controller = Controller(inbox, hostname=HOST, port=port, tls_context=server_context(tls_files),
                            require_starttls=True, authenticator=checker("mailer", "s3cret"), auth_required=True)
    controller.start()
    try:
        wrong = notify.SMTPSettings(host=HOST, port=port, security="starttls", username="mailer", password="nope",
                                    sender="copyright@example.invalid", ca_file=tls_files[0])
        refused = notify.deliver_due(engine, wrong, NOW)
        right = notify.SMTPSettings(host=HOST, port=port, security="starttls", username="mailer", password="s3cret",
                                    sender="copyright@example.invalid", ca_file=tls_files[0])
        sent = notify.deliver_due(engine, right, NOW + timedelta(hours=1))
    finally:
        controller.stop()
    assert refused.failed == 3 and "Authentication" in refused.errors[0]
    assert sent.sent == 3 and len(inbox.messages) == 3


def test_starttls_refuses_an_untrusted_certificate(engine, tls_files):
    decided_complaint(engine)
    port = free_port(HOST)
    controller = Controller(Inbox(), hostname=HOST, port=port, tls_context=server_context(tls_files))
    controller.start()
    try:
        settings = notify.SMTPSettings(host=HOST, port=port, security="starttls", sender="copyright@example.invalid")
        report = notify.deliver_due(engine, settings, NOW)
    finally:
        controller.stop()
    assert report.failed == 3 and "CERTIFICATE_VERIFY_FAILED" in report.errors[0]


def test_implicit_tls(engine, tls_files):
    decided_complaint(engine)
    inbox = Inbox()
    port = free_port(HOST)
    controller = Controller(inbox, hostname=HOST, port=port, ssl_context=server_context(tls_files))
    controller.start()
    try:
        settings = notify.SMTPSettings(host=HOST, port=port, security="tls", sender="copyright@example.invalid",
                                       ca_file=tls_files[0])
        report = notify.deliver_due(engine, settings, NOW)
    finally:
        controller.stop()
    assert report.sent == 3 and len(inbox.messages) == 3


def test_settings_from_options_and_environment(monkeypatch):
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_HOST", "mail.example.org")
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_USER", "mailer")
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_PASSWORD", "pw")
    settings = notify.settings_from({"port": "2525"}, default_sender="copyright@example.invalid")
    assert (settings.host, settings.effective_port, settings.security, settings.username, settings.password,
            settings.sender) == ("mail.example.org", 2525, "starttls", "mailer", "pw", "copyright@example.invalid")
    assert "pw" not in repr(settings)
    assert notify.settings_from({"security": "tls"}, default_sender="x@y.z").effective_port == 465
    with pytest.raises(notify.SMTPConfigError, match="unencrypted"):
        notify.settings_from({"security": "none"}, default_sender="x@y.z")
    with pytest.raises(notify.SMTPConfigError, match="not one of"):
        notify.settings_from({"security": "ssl3"}, default_sender="x@y.z")
    monkeypatch.delenv("COPYRIGHT_GUARD_SMTP_HOST")
    assert notify.settings_from({}, default_sender="x@y.z") is None


@pytest.mark.timeout(30)
def test_every_setting_is_checked_with_or_without_a_host(monkeypatch, tmp_path, tls_files):
    # --smtp-ca-file nonexist used to be accepted, and each delivery then failed with a bare
    # "FileNotFoundError" (exit 0); a bad --smtp-security passed unseen while no host was set.
    for variable in notify.ENV_VARS.values():
        monkeypatch.delenv(variable, raising=False)

    def refused(**values) -> str:
        with pytest.raises(notify.SMTPConfigError) as caught:
            notify.settings_from(values, default_sender="x@y.z")
        assert "\n" not in str(caught.value)
        return str(caught.value)

    missing, fifo, text = tmp_path / "nonexist.pem", tmp_path / "ca.fifo", tmp_path / "notes.txt"
    os.mkfifo(fifo)
    text.write_text("not a certificate\n")
    assert refused(security="bogus") == "--smtp-security 'bogus': not one of starttls, tls, none"
    assert refused(ca_file=str(missing)) == f"--smtp-ca-file: {missing}: cannot read CA file: No such file or directory"
    assert refused(ca_file=str(fifo)).startswith(f"--smtp-ca-file: {fifo}: not a regular file (a FIFO)")  # never hangs
    assert refused(ca_file=str(text)).startswith(f"--smtp-ca-file: {text}: no certificate in it to trust")
    assert refused(port="smtp") == "--smtp-port 'smtp': not a port number"
    assert refused(port="70000") == "--smtp-port '70000': not a port number (1-65535)"
    assert refused(**{"from": "a@example.org\r\nBcc: b@example.org"}).startswith("--smtp-from ")
    assert refused(host="mail example.org").startswith("--smtp-host 'mail example.org': not a host name")
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_CA_FILE", str(missing))
    assert refused().startswith(f"$COPYRIGHT_GUARD_SMTP_CA_FILE: {missing}: cannot read CA file")
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_CA_FILE", tls_files[0])
    monkeypatch.setenv("COPYRIGHT_GUARD_SMTP_TIMEOUT", "nan")
    assert refused() == "$COPYRIGHT_GUARD_SMTP_TIMEOUT 'nan': give more than 0 and at most 600 seconds"
    monkeypatch.delenv("COPYRIGHT_GUARD_SMTP_TIMEOUT")
    assert notify.settings_from({}, default_sender="x@y.z") is None  # a valid CA file, no host: mail stays queued
    assert notify.settings_from({"host": HOST}, default_sender="x@y.z").ca_file == tls_files[0]


def test_a_ca_file_gone_after_start_up_is_a_named_delivery_error(engine, tmp_path, tls_files):
    decided_complaint(engine)
    settings = notify.SMTPSettings(host=HOST, port=free_port(HOST), security="tls", sender="copyright@example.invalid",
                                   ca_file=str(tmp_path / "gone.pem"))
    report = notify.deliver_due(engine, settings, NOW)
    assert report.failed == 3 and "gone.pem: cannot read CA file: No such file or directory" in report.errors[0]
    assert len(outbox.messages(engine, unsent_only=True)) == 3  # kept, retried later


def test_two_workers_never_send_the_same_message_twice(engine):
    from concurrent.futures import ThreadPoolExecutor

    decided_complaint(engine)
    inbox = Inbox()
    port = free_port(HOST)
    controller = Controller(inbox, hostname=HOST, port=port)
    controller.start()
    try:
        settings = notify.SMTPSettings(host=HOST, port=port, security="none", sender="copyright@example.invalid")
        with ThreadPoolExecutor(max_workers=3) as pool:
            reports = list(pool.map(lambda _: notify.deliver_due(engine, settings, NOW), range(3)))
    finally:
        controller.stop()
    assert sum(r.sent for r in reports) == 3 and len(inbox.messages) == 3


def test_a_claimed_message_comes_back_when_its_lease_ends(engine):
    decided_complaint(engine)
    first = outbox.due(engine, NOW)[0]
    assert outbox.claim(engine, first, NOW) and not outbox.claim(engine, first, NOW)
    assert first.id not in [m.id for m in outbox.due(engine, NOW + timedelta(minutes=4))]
    assert first.id in [m.id for m in outbox.due(engine, NOW + timedelta(minutes=6))]
