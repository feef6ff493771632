"""Scrapy events (Scrapy calls them "signals"; we say "event" to avoid the clash with rights signals).

``decision_made``
    Sent once for every decision, pre-fetch and post-fetch, right after it is handed to the audit
    writer::

        crawler.signals.connect(handler, signal=copyright_guard.scrapy.decision_made)

        def handler(decision, decision_id, request, response):
            ...

    ``decision`` is a :class:`copyright_guard.core.model.Decision`, ``decision_id`` the id of its
    audit record, ``request`` the Scrapy request, ``response`` the response for a post-fetch
    decision (``None`` pre-fetch). Handlers must not block and cannot change the verdict; an error
    in a handler is logged by Scrapy and does not affect the crawl.
"""

from __future__ import annotations

decision_made = object()
