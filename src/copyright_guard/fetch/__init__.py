"""The fetch layer: HTTP outcomes -> site-wide file states, and the transports that move the bytes.

states.py  pure RFC 9309 §2.3.1 state machine (FetchOutcome in, SiteFile out)
cache.py   SiteFileCache: one entry per (kind, origin), freshness, LRU bound
site.py    SiteFetcher: the site-wide files of an origin -> core.evaluate.SiteView
http.py    HttpxTransport: the plain-HTTP transport of the CLI
page.py    check_url: pre-fetch, page fetch (per-hop checks), post-fetch - what `check` runs
"""
