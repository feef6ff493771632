"""Provenance: each item carries the id of the audit record that let its response through.

The downloader middleware stores the allowing post-fetch decision id in
``response.meta["copyright_guard_decision_id"]``. This spider middleware copies it into every item
the spider yields from that response, in the field named by ``COPYRIGHT_GUARD_ITEM_FIELD``
(default ``copyright_guard_decision_id``) when the item can take it: always for a ``dict``; for a
``scrapy.Item``, dataclass or attrs item only if it declares the field. A value the spider set
itself is kept. ``copyright-guard audit explain`` turns the id back into the decision and its
evidence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from itemadapter import ItemAdapter, is_item
from scrapy import Request

from .middleware import DECISION_ID_META
from .runtime import runtime_for


class ProvenanceMiddleware:
    def __init__(self, field: str) -> None:
        self.field = field

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProvenanceMiddleware:
        return cls(runtime_for(crawler).settings.item_field)

    def _stamp(self, item: Any, decision_id: str) -> None:
        if isinstance(item, dict):
            if item.get(self.field) is None:
                item[self.field] = decision_id
            return
        if not is_item(item):
            return
        adapter = ItemAdapter(item)
        if self.field in adapter.field_names() and adapter.get(self.field) is None:
            adapter[self.field] = decision_id

    def process_spider_output(self, response: Any, result: Iterable[Any]) -> Iterable[Any]:
        decision_id = response.meta.get(DECISION_ID_META) if self.field else None
        for item in result:
            if decision_id is not None and not isinstance(item, Request):
                self._stamp(item, decision_id)
            yield item

    async def process_spider_output_async(self, response: Any, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        decision_id = response.meta.get(DECISION_ID_META) if self.field else None
        async for item in result:
            if decision_id is not None and not isinstance(item, Request):
                self._stamp(item, decision_id)
            yield item
