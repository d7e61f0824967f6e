"""The soak's fault layer: seeded, every kind dealt in turn, each counted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from scanbot.sandbox.faults import HOSTEDSCAN_FAULTS, SLACK_FAULTS, Faults

Message = dict[str, Any]


class Stand:
    """A stand-in that answers 200 and counts what it served."""

    def __init__(self) -> None:
        self.served: list[str] = []

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        self.served.append(str(scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"ok": true}'})


async def _get(app: Faults, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://stand") as http:
        return await http.post(path)


async def _raw(app: Faults, path: str) -> list[Message]:
    """What the middleware sends for one request, message by message."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "method": "POST", "headers": []}, receive, send)
    return sent


async def test_off_until_a_rate_is_set() -> None:
    stand = Stand()
    faults = Faults(stand, seed=1, kinds=SLACK_FAULTS)
    for _ in range(20):
        assert (await _get(faults, "/api/chat.postMessage")).status_code == 200
    assert len(stand.served) == 20
    assert not faults.injected


async def test_every_kind_of_a_path_fires_once_per_round_of_its_deck() -> None:
    stand = Stand()
    faults = Faults(stand, seed=7, kinds=SLACK_FAULTS, rate=1.0)
    statuses = [(await _get(faults, "/api/chat.update")).status_code for _ in range(6)]
    assert sorted(statuses) == [429, 429, 429, 500, 500, 500]
    assert faults.injected == {"500": 3, "429": 3}
    assert not stand.served  # a failed call never reaches the stand-in


async def test_a_429_says_when_to_come_back() -> None:
    faults = Faults(Stand(), seed=3, kinds={"": ("429",)}, rate=1.0)
    response = await _get(faults, "/v1/scans")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert response.json() == {"ok": False, "error": "ratelimited"}


async def test_a_dropped_answer_was_served_first() -> None:
    stand = Stand()
    faults = Faults(stand, seed=3, kinds={"": ("500",), "chat.postMessage": ("drop",)}, rate=1.0)
    sent = await _raw(faults, "/api/chat.postMessage")
    assert stand.served == ["/api/chat.postMessage"]  # stored, as Slack would have
    assert sent[0]["status"] == 200
    assert sent[-1]["more_body"] is True  # the body never ends: the answer is lost
    assert b"ts" not in b"".join(m.get("body", b"") for m in sent)
    assert faults.injected == {"drop": 1}


async def test_a_stall_is_served_late() -> None:
    stand = Stand()
    faults = Faults(stand, seed=3, kinds=HOSTEDSCAN_FAULTS, rate=1.0, stall=0.01)
    statuses = [(await _get(faults, "/v1/scans")).status_code for _ in range(3)]
    assert sorted(statuses) == [200, 429, 503]
    assert stand.served == ["/v1/scans"]
    assert faults.injected == {"503": 1, "429": 1, "stall": 1}


async def test_the_same_seed_fails_the_same_requests() -> None:
    outcomes: list[list[int]] = []
    for _ in range(2):
        faults = Faults(Stand(), seed=11, kinds=SLACK_FAULTS, rate=0.3)
        outcomes.append([(await _get(faults, "/api/chat.update")).status_code for _ in range(40)])
    assert outcomes[0] == outcomes[1]
    assert 0 < outcomes[0].count(200) < 40


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="kinds"):
        Faults(Stand(), seed=1, kinds={"": ("418",)})
    with pytest.raises(ValueError, match="kinds"):
        Faults(Stand(), seed=1, kinds={"chat.postMessage": ("500",)})
