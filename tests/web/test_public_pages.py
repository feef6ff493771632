"""Public pages: point of contact, the complaint form and its messages, the status page, figures."""

from __future__ import annotations

import re

from portal_helpers import FORM, submit_form

from copyright_guard.store import complaints as store


def _receipt(client):
    page = client.get("/complaints/submitted")
    assert page.status_code == 200
    reference = re.search(r'id="reference">([^<]+)<', page.text).group(1)
    token = re.search(r'id="token">([^<]+)<', page.text).group(1)
    link = re.search(r'id="status-link" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    return reference, token, link


def test_home_names_the_point_of_contact_and_the_deadlines(client, policy):
    page = client.get("/")
    assert page.status_code == 200
    assert policy.complaints.contact_email in page.text
    assert "within 2 days" in page.text and "within 30 days" in page.text
    assert "collective management organisations" in page.text


def test_form_has_a_label_for_every_input(client):
    html = client.get("/complaints/new").text
    ids = set(re.findall(r'<(?:input|textarea|select)[^>]*\bid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids and ids <= labelled


def test_submission_gives_a_reference_and_a_working_private_status_link(client, engine):
    response = submit_form(client)
    assert response.status_code == 303 and response.headers["location"] == "/complaints/submitted"
    reference, token, link = _receipt(client)
    assert reference == "CG-2026-0001" and len(token) >= 40
    status = client.get(link)
    assert status.status_code == 200 and "Received" in status.text and reference in status.text
    # The token is shown once: the receipt page does not come back.
    assert client.get("/complaints/submitted", follow_redirects=False).status_code == 303
    stored = store.load(engine, reference)
    assert stored.complaint.complainant.email == FORM["email"] and stored.channel == "web"


def test_invalid_form_shows_an_error_summary_and_keeps_the_values(client):
    response = submit_form(client, email="nope", description="short", urls="ftp://x", works="")
    assert response.status_code == 422
    html = response.text
    assert "There is a problem" in html
    assert 'href="#field-email"' in html and "name@example.com" in html
    assert 'href="#field-description"' in html and "at least 20 characters" in html
    assert 'href="#field-urls"' in html
    assert 'aria-invalid="true"' in html
    assert 'value="Ada Author"' in html  # what was typed is not lost


def test_attachment_is_stored_with_its_hash(client, engine):
    pdf = b"%PDF-1.4 evidence"
    response = submit_form(client, files=[("attachments", ("proof.pdf", pdf, "application/pdf"))])
    assert response.status_code == 303
    record = store.load(engine, "CG-2026-0001")
    (attachment,) = record.attachments
    import hashlib

    assert (attachment.filename, attachment.size, attachment.sha256) == ("proof.pdf", len(pdf), hashlib.sha256(pdf).hexdigest())


def test_status_lookup_form_and_unknown_complaint(client):
    assert "Tracking token" in client.get("/status").text
    missing = client.get("/status", params={"reference": "CG-2026-0001", "token": "x"})
    assert missing.status_code == 404 and "No complaint matches" in missing.text


def test_status_page_shows_public_history_only(client, engine, clock, policy):
    submit_form(client)
    reference, token, link = _receipt(client)
    store.add_note(engine, reference, actor="rev1", text="internal: looks like a repeat complainant", now=clock())
    store.add_note(engine, reference, actor="rev1", text="We asked the crawler team for logs.", now=clock(), public=True)
    html = client.get(link).text
    assert "We asked the crawler team" in html and "internal" not in html and "rev1" not in html


def test_figures_page_counts_complaints(client):
    assert "No complaints yet" in client.get("/figures").text
    submit_form(client)
    html = client.get("/figures", params={"period": "year"}).text
    assert "<th scope=\"row\">2026</th><td>1</td><td>0</td>" in html


def test_crawler_page_describes_the_crawler_and_what_it_honours(client, policy):
    html = client.get("/crawler").text
    assert policy.crawler.product_token in html and "RFC 9309" in html
    assert "TDMRep" in html and "never circumvented" in html
    assert "No crawl has been recorded yet" in html


def test_crawler_feed_is_atom_with_one_entry_per_policy_version(client, engine, policy):
    from xml.etree import ElementTree

    from copyright_guard.store.runs import record_policy
    from portal_helpers import START

    with engine.begin() as connection:
        record_policy(connection, policy, START)
    response = client.get("/crawler/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ElementTree.fromstring(response.content)
    (entry,) = feed.findall(f"{atom}entry")
    assert entry.find(f"{atom}id").text.startswith("urn:uuid:")
    assert policy.hash in entry.find(f"{atom}summary").text
    assert feed.find(f"{atom}updated").text == START.isoformat()


def test_a_file_sent_as_a_text_field_is_not_its_text(client, engine):
    from portal_helpers import csrf_of

    token = csrf_of(client.get("/complaints/new").text)
    data = {k: v for k, v in FORM.items() if k not in ("name", "description", "works")}
    files = [(field, ("evil.txt", b"The text of a file, long enough to be a description.", "text/plain"))
             for field in ("name", "description", "works")]
    response = client.post("/complaints/new", data={**data, "csrf_token": token}, files=files, follow_redirects=False)
    assert response.status_code == 422
    assert "Enter your name." in response.text and "at least 20 characters" in response.text
    assert "UploadFile" not in response.text
    assert store.list_complaints(engine) == []


def test_a_file_sent_as_a_reviewer_form_field_is_not_its_text(reviewer_client, engine):
    submit_form(reviewer_client)
    response = reviewer_client.post("/review/complaints/CG-2026-0001/transition",
                                    data={"csrf_token": reviewer_client.csrf, "why": "x"},
                                    files={"to": ("to.txt", b"acknowledged", "text/plain")})
    assert response.status_code == 422 and "UploadFile" not in response.text
    assert store.load(engine, "CG-2026-0001").complaint.status.value == "received"


def test_head_works_wherever_get_does(client):
    # RFC 9110 §9.3.2: the GET's header fields, no content.
    for path in ("/", "/complaints/new", "/status", "/figures", "/crawler", "/crawler/feed.atom", "/login",
                 "/api/figures", "/openapi.json", "/static/style.css"):
        got, head = client.get(path), client.head(path)
        assert (head.status_code, got.status_code) == (200, 200), path
        assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"], path
        assert head.headers["content-security-policy"] == got.headers["content-security-policy"], path
    assert client.head("/review", follow_redirects=False).status_code == 303
    assert client.head("/logout").status_code == 405  # a POST-only route stays so


def test_head_never_uses_up_the_one_time_receipt(client):
    submit_form(client)
    head = client.head("/complaints/submitted")
    assert head.status_code == 200 and "set-cookie" not in head.headers
    reference, token, _ = _receipt(client)  # the GET still shows the token
    assert reference == "CG-2026-0001" and token
