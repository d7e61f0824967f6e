"""Worlds for the sandbox world's tests: frozen clocks, so only `advance` moves time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanbot.sandbox.world import SandboxWorld, SimClock


def frozen(**options: Any) -> SandboxWorld:
    return SandboxWorld(clock=SimClock(speed=0.0), **options)


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


@pytest.fixture(scope="module")
def world() -> SandboxWorld:
    """The default population, read-only: tests that change things build their own."""
    return frozen()
