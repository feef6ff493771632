"""An item pipeline for the crash test: each item is written and handed to the OS at once.

Scrapy's feed exports buffer items in the process; a SIGKILL loses that buffer, so a test
reading the feed would only see items written long enough ago. Here every item reaches the
file (the OS's page cache, which a killed process cannot lose) before the next one is made.
"""

from __future__ import annotations

import json
import os


class FlushEveryItem:
    def open_spider(self, spider=None) -> None:
        self._file = open(os.environ["FLUSH_ITEMS_FILE"], "a", encoding="utf-8")  # noqa: SIM115 - closed in close_spider

    def close_spider(self, spider=None) -> None:
        self._file.close()

    def process_item(self, item, spider=None):
        self._file.write(json.dumps(dict(item)) + "\n")
        self._file.flush()
        return item
