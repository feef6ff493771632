"""One compliant crawl on many workers and machines (docs/distributed.md)."""
