"""The account's targets: varied hosts and URLs, and some huge scans."""

from __future__ import annotations

from scanbot.sandbox.world import SandboxWorld


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
