"""Settings: one typed class; a bad value stops start-up with a sentence, never the value."""

from __future__ import annotations

import logging
import typing

import pytest
from pydantic import SecretStr

from scanbot.logs import RedactSecrets
from scanbot.settings import ConfigError, Settings, load_settings


def test_defaults_need_no_configuration() -> None:
    settings = load_settings(env_file=None)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.hostedscan_api_url == "https://api.hostedscan.com"
    assert settings.poll_interval == 60
    assert settings.digest_threshold == 10
    assert settings.max_body_bytes == 1_000_000
    assert settings.health_token is None  # no details on /healthz over HTTP


def test_slack_api_url_gets_its_trailing_slash() -> None:
    settings = load_settings(env_file=None, slack_api_url="http://127.0.0.1:9/api")
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANBOT_POLL_INTERVAL", "30")
    monkeypatch.setenv("SCANBOT_ALERT_CHANNEL", "C0A, C0B")
    monkeypatch.setenv("SCANBOT_ADMINS", "U0ADMIN")
    monkeypatch.setenv("SCANBOT_OPERATORS", "U0OPS, S0ONCALL")
    monkeypatch.setenv("SCANBOT_RUN_LIMIT", "3")
    settings = load_settings(env_file=None)
    assert settings.operator_ids == {"U0OPS", "S0ONCALL"}
    assert settings.run_limit == 3
    assert settings.poll_interval == 30
    assert settings.alert_channel_ids == ["C0A", "C0B"]
    assert settings.admin_ids == {"U0ADMIN"}


@pytest.mark.parametrize(
    ("field", "value", "variable"),
    [
        ("slack_bot_token", "xoxp-a-user-token", "SLACK_BOT_TOKEN"),
        ("slack_app_token", "xoxb-not-an-app-token", "SLACK_APP_TOKEN"),
        ("hostedscan_api_url", "api.hostedscan.com", "HOSTEDSCAN_API_URL"),
        ("poll_interval", "1", "SCANBOT_POLL_INTERVAL"),
        ("alert_channels", "#general", "SCANBOT_ALERT_CHANNEL"),
        ("admins", "alice", "SCANBOT_ADMINS"),
        ("operators", "U0OK,@oncall", "SCANBOT_OPERATORS"),
        ("run_limit", "0", "SCANBOT_RUN_LIMIT"),
        ("log_level", "LOUD", "SCANBOT_LOG_LEVEL"),
        ("max_body_bytes", "1000", "SCANBOT_MAX_BODY_BYTES"),
        ("max_body_bytes", "999999999", "SCANBOT_MAX_BODY_BYTES"),
        ("health_token", "too-short", "SCANBOT_HEALTH_TOKEN"),
    ],
)
def test_a_malformed_setting_names_the_variable_not_the_value(
    field: str, value: str, variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, **{field: value})
    assert variable in str(caught.value)
    assert value not in str(caught.value)


def test_require_names_what_is_missing_and_where_to_find_it() -> None:
    settings = load_settings(env_file=None)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET is not set: copy the Signing"):
        settings.require("slack_signing_secret")


def test_secrets_never_print() -> None:
    settings = load_settings(env_file=None, slack_bot_token="xoxb-very-secret-token")
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())


def test_the_last_resort_redactor_masks_secrets_in_log_records() -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "token %s leaked", ("xoxb-123456",), None)
    RedactSecrets(["xoxb-123456"]).filter(record)
    assert record.getMessage() == "token [redacted] leaked"


def _secret_fields() -> list[str]:
    return [
        name
        for name, field in Settings.model_fields.items()
        if SecretStr in typing.get_args(field.annotation) or field.annotation is SecretStr
    ]


def test_the_redactor_gets_every_secret_setting_without_a_list_to_keep() -> None:
    fields = _secret_fields()
    assert {"hostedscan_webhook_secret", "health_token", "slack_signing_secret"} <= set(fields)
    prefixes = {"slack_bot_token": "xoxb-", "slack_app_token": "xapp-"}
    values = {name: f"{prefixes.get(name, '')}secret-of-{name}" for name in fields}
    settings = load_settings(env_file=None, **values)
    assert sorted(settings.secret_values()) == sorted(values.values())
    record = logging.LogRecord("x", logging.INFO, "f", 1, "%s", (" ".join(values.values()),), None)
    RedactSecrets(settings.secret_values()).filter(record)
    assert record.getMessage() == " ".join(["[redacted]"] * len(values))
