"""A local HostedScan-compatible API with simulated scans, for tests, the demo and benchmarks."""

from scanbot.sandbox.server import (
    SANDBOX_API_KEY,
    RecordedRequest,
    SandboxControls,
    create_sandbox_app,
    run_sandbox,
)
from scanbot.sandbox.world import HOSTILE_STRINGS, FilterError, SandboxWorld, SimClock

__all__ = [
    "HOSTILE_STRINGS",
    "SANDBOX_API_KEY",
    "FilterError",
    "RecordedRequest",
    "SandboxControls",
    "SandboxWorld",
    "SimClock",
    "create_sandbox_app",
    "run_sandbox",
]
