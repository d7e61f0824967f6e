"""A stand-in for a Slack user: builds and signs the requests Slack POSTs to the app.

The demo, the end-to-end tests and the benchmark send these over real HTTP, signed
exactly as Slack signs them (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`).
"""

from __future__ import annotations

import json
import time
from itertools import count
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

_trigger = count(1)


def slash_command(
    command: str,
    text: str,
    *,
    response_url: str,
    user_id: str = "U0ALICE",
    channel_id: str = "C0SECOPS",
    team_id: str = "T0FAKE",
) -> dict[str, str]:
    """The form fields of a slash-command request, as Slack sends them."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "example",
        "channel_id": channel_id,
        "channel_name": "secops",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0SCANBOT",
        "response_url": response_url,
        "trigger_id": f"{next(_trigger)}.trigger",
    }


def block_action(
    action_id: str,
    value: str,
    *,
    response_url: str,
    is_ephemeral: bool = True,
    user_id: str = "U0ALICE",
    channel_id: str = "C0SECOPS",
    team_id: str = "T0FAKE",
    message_ts: str = "1700000000.000100",
    block_id: str = "b",
    selected: str | None = None,
) -> dict[str, str]:
    """The form fields of a `block_actions` request for one click (a button, or a
    static_select when `selected` is the chosen option's value)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "example"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0SCANBOT",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": f"{next(_trigger)}.trigger",
        "channel": {"id": channel_id, "name": "secops"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    if selected is not None:
        payload["actions"][0] = {
            "type": "static_select",
            "action_id": action_id,
            "block_id": block_id,
            "selected_option": {
                "text": {"type": "plain_text", "text": selected},
                "value": selected,
            },
            "action_ts": f"{time.time():.6f}",
        }
    if not is_ephemeral:
        payload["message"] = {"type": "message", "ts": message_ts, "text": "", "blocks": []}
    return {"payload": json.dumps(payload)}


def view_submission(
    callback_id: str,
    private_metadata: str,
    values: dict[str, dict[str, Any]],
    *,
    user_id: str = "U0ALICE",
    team_id: str = "T0FAKE",
) -> dict[str, str]:
    """The form fields of a `view_submission` (a modal's submit), with its input values."""
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "example"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": team_id},
        "api_app_id": "A0SCANBOT",
        "token": "legacy-verification-token",
        "trigger_id": f"{next(_trigger)}.trigger",
        "view": {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": values},
        },
    }
    return {"payload": json.dumps(payload)}


def event_callback(event: dict[str, Any], *, team_id: str = "T0FAKE") -> str:
    """The JSON body of an Events API delivery (e.g. app_home_opened)."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team_id,
            "api_app_id": "A0SCANBOT",
            "type": "event_callback",
            "event_id": f"Ev{next(_trigger):08d}",
            "event_time": int(time.time()),
            "event": event,
        }
    )


def signed_headers(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None  # None only for a missing timestamp or body
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def post_signed(
    http: httpx.AsyncClient, url: str, signing_secret: str, form: dict[str, str]
) -> httpx.Response:
    """POST `form` to the app's request URL as Slack would, signed."""
    body = urlencode(form)
    return await http.post(url, content=body, headers=signed_headers(signing_secret, body))
