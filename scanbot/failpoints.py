"""Named points where a test may kill the process (SIGKILL), to prove nothing is lost.

Off unless SCANBOT_FAILPOINT names the point; the crash tests set it in a child process.
A production process never sets it, so each call is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "SCANBOT_FAILPOINT"
POINTS = (
    "cycle:before_commit",  # events computed, nothing written
    "cycle:after_commit",  # snapshots and outbox written, nothing sent
    "send:before_post",  # row marked "sending", Slack not called
    "send:after_post",  # Slack accepted the post, its ts not stored: looked for at restart
    "send:after_mark",  # the row is marked sent
)


def failpoint(name: str) -> None:
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
