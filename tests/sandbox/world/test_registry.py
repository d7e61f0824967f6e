"""The target list: the pool's window and created targets, pages, filters, upserts."""

from __future__ import annotations

import pytest

from scanbot.sandbox.world import FilterError
from scanbot.sandbox.world.ids import TARGET_ID, IdCodec
from scanbot.sandbox.world.registry import TargetBook, TargetExists
from scanbot.sandbox.world.table import ScanTable
from scanbot.sandbox.world.targets import POOL_SIZE, custom_target, pool_target


def book(window: int = 4) -> tuple[ScanTable, TargetBook]:
    table = ScanTable(IdCodec(9))
    return table, TargetBook(table, window)


def walk(targets: TargetBook, limit: int, **filters: list[str]) -> list[str]:
    ids: list[str] = []
    before = None
    while True:
        page, before = targets.page(filters or None, before=before, limit=limit)
        ids += [t["id"] for t in page]
        if before is None:
            return ids


def test_the_window_is_listed_as_hosts_and_urls_newest_first() -> None:
    table, targets = book(window=4)
    assert len(targets) == 8
    listed, cursor = targets.page(None, before=None, limit=None)
    assert cursor is None
    expected = [pool_target(table.ids, i // 2, i % 2 == 1) for i in range(7, -1, -1)]
    assert listed == [
        {"id": t.target_id, "target": t.target, "label": t.label, "tags": list(t.tags)}
        for t in expected
    ]
    assert listed[0]["target"].startswith(("http://", "https://"))


def test_created_targets_list_first_and_never_shift_a_walk() -> None:
    _, targets = book(window=4)
    first, before = targets.page(None, before=None, limit=3)
    created = targets.create("new.example.com", "New", ("prod",), upsert=False)
    rest, _ = targets.page(None, before=before, limit=None)
    assert len(first) + len(rest) == 8
    assert created.target_id not in {t["id"] for t in first + rest}
    assert walk(targets, 3)[0] == created.target_id
    assert len(walk(targets, 3)) == len(set(walk(targets, 3))) == 9


def test_any_pool_target_answers_by_id_but_only_the_window_is_listed() -> None:
    table, targets = book(window=4)
    far = pool_target(table.ids, 5000, True)
    assert targets.get(far.target_id) == far
    assert far.target_id not in walk(targets, 100)
    assert targets.get(table.ids.encode(TARGET_ID, POOL_SIZE * 2)) is None
    assert targets.get("not-an-id") is None
    assert targets.get(custom_target(9, "never.example.com").target_id) is None


def test_create_refuses_a_duplicate_unless_upsert_which_relabels() -> None:
    table, targets = book()
    created = targets.create("shop.example.com", "Shop", ("prod",), upsert=False)
    assert (created.label, created.tags) == ("Shop", ("prod",))
    with pytest.raises(TargetExists, match=r"shop\.example\.com already exists"):
        targets.create("shop.example.com", None, None, upsert=False)
    again = targets.create("shop.example.com", None, ("pci", "prod"), upsert=True)
    assert again.target_id == created.target_id
    assert (again.label, again.tags) == ("Shop", ("pci", "prod"))  # the label not given stays
    assert len(targets) == 9
    pooled = targets.at(0)
    with pytest.raises(TargetExists):
        targets.create(pooled.target, "x", None, upsert=False)
    relabelled = targets.create(pooled.target, "Relabelled", (), upsert=True)
    assert relabelled.target_id == pooled.target_id
    assert targets.get(pooled.target_id) == relabelled
    assert table.current(pooled) == relabelled  # shown wherever the target appears


def test_upsert_of_a_new_target_creates_it() -> None:
    _, targets = book()
    created = targets.create("fresh.example.com", None, None, upsert=True)
    assert targets.named("fresh.example.com") == created
    assert (created.label, created.tags) == ("", ())


def test_adopt_and_register_list_a_target_once() -> None:
    _, targets = book()
    adopted = targets.adopt("scan-me.example.com")
    assert targets.adopt("scan-me.example.com") == adopted
    assert targets.register(adopted) == adopted
    assert targets.adopt(targets.at(3).target) == targets.at(3)  # the account's, not a new one
    assert len(targets) == 9


def test_filters_and_tags() -> None:
    _, targets = book(window=64)
    targets.create("a.example.com", "A", ("mine", "prod"), upsert=False)
    targets.create("b.example.com", "B", ("mine",), upsert=False)
    mine = [targets.get(target_id) for target_id in walk(targets, 5, tags=["mine"])]
    assert [t.target for t in mine if t is not None] == ["b.example.com", "a.example.com"]
    assert len(walk(targets, 5, target=["a.example.com"], label=["A"])) == 1
    assert walk(targets, 5, target=["a.example.com"], label=["B"]) == []
    assert walk(targets, 5, tags=[]) == []
    prod = targets.tagged(frozenset({"prod"}))
    assert prod
    assert all("prod" in t.tags for t in prod)
    assert prod[-1].target == "a.example.com"
    with pytest.raises(FilterError, match="Unknown filter key"):
        targets.page({"colour": ["red"]}, before=None, limit=5)
