"""The account's targets: a seeded pool of hosts and URLs, named targets, skipped ones."""

from __future__ import annotations

from scanbot.sandbox.world import HOSTILE_STRINGS, SandboxWorld
from scanbot.sandbox.world.ids import IdCodec
from scanbot.sandbox.world.targets import (
    HOSTILE_SLOTS,
    custom_target,
    pool_target,
    skipped_targets,
)


def test_targets_are_varied_and_some_scans_are_huge(world: SandboxWorld) -> None:
    scans = world.list_scans(None)
    counts = [len(s["requested_targets"]) for s in scans]
    assert min(counts) == 1
    assert max(counts) >= 100
    targets = [t["target"] for s in scans for t in s["requested_targets"]]
    assert any(t.startswith("https://") for t in targets)
    assert any(t.count(".") == 3 and t.replace(".", "").isdigit() for t in targets)
    assert any(t.endswith(".example.com") for t in targets)
    skipped = [t for s in scans for t in s["skipped_targets"]]
    assert skipped
    assert all(t["skipped_reason"] for t in skipped)


def test_a_pool_entry_is_a_function_of_seed_and_index() -> None:
    ids = IdCodec(1)
    assert pool_target(ids, 1000, False) == pool_target(IdCodec(1), 1000, False)
    assert pool_target(ids, 1000, False) != pool_target(IdCodec(2), 1000, False)
    assert pool_target(ids, 1000, False).target_id != pool_target(ids, 1000, True).target_id
    assert pool_target(ids, 1000, False).target_id != pool_target(ids, 1001, False).target_id


def test_hostile_slots_hold_the_hostile_strings() -> None:
    ids = IdCodec(1)
    for index, which in HOSTILE_SLOTS.items():
        target = pool_target(ids, index, False)
        assert target.target == target.resolved == HOSTILE_STRINGS[which]
    outside = [pool_target(ids, i, False).target for i in range(300) if i not in HOSTILE_SLOTS]
    assert not set(outside) & set(HOSTILE_STRINGS)


def test_web_scans_get_urls_and_others_hosts() -> None:
    ids = IdCodec(4)
    usual = [i for i in range(400) if i not in HOSTILE_SLOTS]
    urls = [pool_target(ids, i, True) for i in usual]
    hosts = [pool_target(ids, i, False) for i in usual]
    assert all(t.target.startswith(("https://", "http://[2001:db8::")) for t in urls)
    assert any(t.target.startswith("http://[") for t in urls)
    assert not any("://" in t.target for t in hosts)
    assert all(t.resolved.count(".") == 3 or t.resolved.startswith("2001:db8::") for t in hosts)


def test_a_named_target_has_the_same_id_wherever_it_appears() -> None:
    target = custom_target(1, "a.example.com")
    assert target == custom_target(1, "a.example.com")
    assert target.target == target.resolved == "a.example.com"
    assert len(target.target_id) == 24
    assert custom_target(2, "a.example.com").target_id != target.target_id


def test_hostile_targets_are_skipped_more_often() -> None:
    hostile = custom_target(1, HOSTILE_STRINGS[0])
    usual = custom_target(1, "www.example.com")
    skipped = [skipped_targets(1, seq, [hostile, usual]) for seq in range(2000)]
    hostile_share = sum(hostile.target_id in s for s in skipped) / len(skipped)
    usual_share = sum(usual.target_id in s for s in skipped) / len(skipped)
    assert 0.3 < hostile_share < 0.5
    assert 0.03 < usual_share < 0.09
    assert all(reason for s in skipped for reason in s.values())
    assert skipped == [skipped_targets(1, seq, [hostile, usual]) for seq in range(2000)]
