"""COPYRIGHT_GUARD_GC_FREEZE: frozen while guarded spiders run, released after the last one."""

from __future__ import annotations

from pathlib import Path

import gc

import pytest

from copyright_guard.scrapy import gcfreeze

TEST_POLICY = str(Path(__file__).resolve().parents[1] / "data" / "policies" / "identity.toml")  # a concrete identity


@pytest.fixture(autouse=True)
def unfrozen():
    if gc.get_freeze_count():
        pytest.skip("the test process has frozen objects already")
    yield
    gc.unfreeze()


def test_the_first_spider_freezes_and_the_last_one_releases():
    gcfreeze.freeze_startup_objects()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    gcfreeze.freeze_startup_objects()  # a second guarded spider in the same process
    assert gc.get_freeze_count() == frozen  # it does not freeze the first one's live objects
    gcfreeze.release()
    assert gc.get_freeze_count() == frozen  # one spider still runs
    gcfreeze.release()
    assert gc.get_freeze_count() == 0
    gcfreeze.release()  # an extra release is harmless
    assert gc.get_freeze_count() == 0


def test_a_freeze_made_by_the_process_itself_is_left_alone():
    gc.freeze()  # e.g. a pre-fork server
    before = gc.get_freeze_count()
    gcfreeze.freeze_startup_objects()
    gcfreeze.release()
    assert gc.get_freeze_count() >= before > 0


def test_the_extension_freezes_when_the_run_opens_and_releases_when_it_closes(tmp_path):
    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from copyright_guard.scrapy import Addon, AuditExtension

    class Named(Spider):
        name = "named"

    crawler = get_crawler(Named, settings_dict={"ADDONS": {Addon: 100}, "COPYRIGHT_GUARD_POLICY": TEST_POLICY,
                                                "COPYRIGHT_GUARD_DB": f"sqlite:///{tmp_path / 'audit.db'}",
                                                "COPYRIGHT_GUARD_PROGRESS_INTERVAL": 0})
    extension = AuditExtension.from_crawler(crawler)
    spider = Named()
    extension.spider_opened(spider)
    assert gc.get_freeze_count() > 0
    extension.spider_closed(spider, "finished")
    assert gc.get_freeze_count() == 0
