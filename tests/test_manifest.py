"""manifest.yml is what users paste into Slack: it must validate and grant what the code calls."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).parent / "data" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"
PLACEHOLDER = "https://scanbot.example.com/slack/events"

# Web API method -> the bot scopes any one of which allows it (Slack's method reference).
SCOPES_FOR_METHOD: dict[str, set[str]] = {
    "auth.test": set(),
    # Socket Mode: called with the app-level token (its connections:write), no bot scope.
    "apps.connections.open": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.getPermalink": set(),
    "conversations.info": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "users.info": {"users:read"},
    "views.open": set(),
    "views.update": set(),
    "views.publish": set(),
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "users.conversations": {"channels:read", "groups:read", "im:read", "mpim:read"},
    "conversations.history": {"channels:history", "groups:history", "im:history"},
    "conversations.replies": {"channels:history", "groups:history", "im:history"},
    "usergroups.users.list": {"usergroups:read"},
    "conversations.open": {"channels:manage", "groups:write", "im:write", "mpim:write"},
}
# slack_sdk helpers that call several Web API methods rather than api_call() directly.
COMPOSITE_METHODS = {
    "files_upload_v2": {"files.getUploadURLExternal", "files.completeUploadExternal"},
}
# What scanbot's users.conversations asks for (public and private channels) needs both.
REQUIRED_TOGETHER = {
    "users.conversations": {"channels:read", "groups:read"},
    # Alerts go to public and private channels: a lost answer is looked for in either.
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
}
# Scopes a feature needs rather than a Web API call.
FEATURE_SCOPES = {
    "commands",  # slash commands (and their response_url)
    "chat:write.public",  # chat.postMessage to public channels without an invitation
}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def _api_methods_called_by_scanbot() -> set[str]:
    """Every slack_sdk WebClient method named in scanbot's code, as Web API method names."""
    by_python_name: dict[str, str] = {}
    for name, function in inspect.getmembers(AsyncWebClient, inspect.iscoroutinefunction):
        found = re.search(r'api_call\(\s*"([\w.]+)"', inspect.getsource(function))
        if found and not name.startswith("_"):
            by_python_name[name] = found.group(1)
    called = set()
    for path in (ROOT / "scanbot").rglob("*.py"):
        if "sandbox" in path.parts:  # the local stand-ins implement Slack, they do not call it
            continue
        source = path.read_text()
        called |= {api for name, api in by_python_name.items() if f".{name}(" in source}
        for name, apis in COMPOSITE_METHODS.items():
            if f".{name}(" in source:
                called |= apis
    return called | {"auth.test"}  # Bolt calls it for the bot's identity


def test_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator(schema).validate(manifest)


def test_a_broken_manifest_fails_the_schema(manifest: dict[str, Any]) -> None:
    broken = {**manifest, "features": {**manifest["features"], "bot_user": {}}}
    schema = json.loads(SCHEMA.read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def test_commands_are_declared_with_help(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) >= {"/scans", "/scan"}
    for command in commands.values():
        assert command["description"]
        assert command["usage_hint"]
        assert command["url"] == PLACEHOLDER


def test_bot_user_and_interactivity(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["bot_user"]["display_name"] == "scanbot"
    assert manifest["settings"]["interactivity"] == {"is_enabled": True, "request_url": PLACEHOLDER}


def test_the_home_tab_and_its_event_are_declared(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert events["request_url"] == PLACEHOLDER
    assert "app_home_opened" in events["bot_events"]
    source = (ROOT / "scanbot" / "slack" / "listeners" / "home.py").read_text()
    assert 'app.event("app_home_opened")' in source


def test_every_web_api_method_called_is_covered_by_a_declared_scope(
    manifest: dict[str, Any],
) -> None:
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    called = _api_methods_called_by_scanbot()
    unknown = called - set(SCOPES_FOR_METHOD)
    assert not unknown, f"add the scopes of {sorted(unknown)} to SCOPES_FOR_METHOD"
    for method in called:
        allowed_by = SCOPES_FOR_METHOD[method]
        assert not allowed_by or allowed_by & declared, f"{method} needs one of {allowed_by}"
        assert REQUIRED_TOGETHER.get(method, set()) <= declared, f"{method} needs all of them"


def test_no_scope_is_declared_that_nothing_uses(manifest: dict[str, Any]) -> None:
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = set(FEATURE_SCOPES)
    for method in _api_methods_called_by_scanbot():
        needed |= SCOPES_FOR_METHOD[method]
    assert declared <= needed, f"unused scopes ask users for too much: {declared - needed}"


def test_the_messages_tab_takes_commands_and_dms_can_be_opened(manifest: dict[str, Any]) -> None:
    app_home = manifest["features"]["app_home"]
    assert app_home["messages_tab_enabled"] is True  # /scans subscribe and summary in a DM
    assert app_home["messages_tab_read_only_enabled"] is False
    assert "im:write" in manifest["oauth_config"]["scopes"]["bot"]  # the assignee's DM
