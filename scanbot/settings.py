"""Every setting scanbot reads, in one typed class; secrets are SecretStr and never printed."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SLACK_API_URL = "https://slack.com/api/"
HOSTEDSCAN_API_URL = "https://api.hostedscan.com"
# Slack's payloads are a few KB, a large modal or message a few hundred; 1 MB is generous.
MAX_BODY_BYTES = 1_000_000
# A bearer token shorter than this is guessable.
MIN_HEALTH_TOKEN = 16


CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")
USER_GROUP_ID = re.compile(r"S[A-Z0-9]{2,30}")
DUE_DAYS_PART = re.compile(r"\s*(high|medium|low)\s*=\s*[0-9]{1,5}\s*", re.IGNORECASE)


class ConfigError(Exception):
    """A setting is missing or malformed. The message names the variable, never its value."""


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError("must be an http:// or https:// URL")
    return value


class Settings(BaseSettings):
    """Read from the environment (and an optional `.env` file in the working directory)."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, populate_by_name=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = SLACK_API_URL
    hostedscan_api_key: SecretStr | None = None
    hostedscan_api_url: str = HOSTEDSCAN_API_URL
    hostedscan_webhook_secret: SecretStr | None = None
    log_level: str = Field(default="INFO", validation_alias="SCANBOT_LOG_LEVEL")

    # Alerts (see README, "Channel alerts")
    database_url: str | None = Field(default=None, validation_alias="SCANBOT_DATABASE_URL")
    alert_channels: str = Field(default="", validation_alias="SCANBOT_ALERT_CHANNEL")
    admin_channel: str | None = Field(default=None, validation_alias="SCANBOT_ADMIN_CHANNEL")
    poll_interval: float = Field(
        default=60.0, ge=5, le=86_400, validation_alias="SCANBOT_POLL_INTERVAL"
    )
    full_sweep_every: int = Field(
        default=10, ge=1, le=10_000, validation_alias="SCANBOT_FULL_SWEEP_EVERY"
    )
    alert_existing: bool = Field(default=False, validation_alias="SCANBOT_ALERT_EXISTING")
    digest_threshold: int = Field(
        default=10, ge=1, le=1_000, validation_alias="SCANBOT_DIGEST_THRESHOLD"
    )
    admins: str = Field(default="", validation_alias="SCANBOT_ADMINS")
    allow_guests: bool = Field(default=False, validation_alias="SCANBOT_ALLOW_GUESTS")
    # Acting on HostedScan (see README, "Acting on HostedScan")
    operators: str = Field(default="", validation_alias="SCANBOT_OPERATORS")
    run_limit: int = Field(default=10, ge=1, le=1_000, validation_alias="SCANBOT_RUN_LIMIT")
    report_wait: float = Field(default=90.0, ge=1, le=600, validation_alias="SCANBOT_REPORT_WAIT")
    poll_failures_before_notice: int = Field(
        default=3, ge=1, le=1_000, validation_alias="SCANBOT_POLL_FAILURES_BEFORE_NOTICE"
    )
    # Scheduled summaries: days from first detection until an open risk is overdue.
    due_days: str = Field(default="high=7,medium=30,low=90", validation_alias="SCANBOT_DUE_DAYS")

    # The HTTP edge (see README, "Security")
    max_body_bytes: int = Field(
        default=MAX_BODY_BYTES, ge=65_536, le=10_000_000, validation_alias="SCANBOT_MAX_BODY_BYTES"
    )
    health_token: SecretStr | None = Field(default=None, validation_alias="SCANBOT_HEALTH_TOKEN")

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("health_token")
    @classmethod
    def _health_token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_HEALTH_TOKEN:
            raise ValueError(f"must be at least {MIN_HEALTH_TOKEN} characters")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url(cls, value: str) -> str:
        # slack_sdk joins base_url and the method name: the trailing slash matters.
        return _http_url(value).rstrip("/") + "/"

    @field_validator("hostedscan_api_url")
    @classmethod
    def _hostedscan_url(cls, value: str) -> str:
        return _http_url(value).rstrip("/")

    @field_validator("alert_channels", "admin_channel")
    @classmethod
    def _channel_ids(cls, value: str | None) -> str | None:
        for channel in (value or "").split(","):
            if channel.strip() and not CHANNEL_ID.fullmatch(channel.strip()):
                raise ValueError("must be Slack channel ids like C0123ABCD, comma-separated")
        return value

    @field_validator("admins")
    @classmethod
    def _user_ids(cls, value: str) -> str:
        for user in value.split(","):
            if user.strip() and not USER_ID.fullmatch(user.strip()):
                raise ValueError("must be Slack user ids like U0123ABCD, comma-separated")
        return value

    @field_validator("operators")
    @classmethod
    def _operator_ids(cls, value: str) -> str:
        for item in value.split(","):
            item = item.strip()
            if item and not (USER_ID.fullmatch(item) or USER_GROUP_ID.fullmatch(item)):
                raise ValueError(
                    "must be Slack user ids (U0123ABCD) or user group ids (S0123ABCD), "
                    "comma-separated"
                )
        return value

    @property
    def operator_ids(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.operators.split(",") if u.strip())

    @field_validator("due_days")
    @classmethod
    def _due_days(cls, value: str) -> str:
        if not all(DUE_DAYS_PART.fullmatch(part) for part in value.split(",")):
            raise ValueError("must be level=days pairs, like high=7,medium=30,low=90")
        return value

    @property
    def admin_ids(self) -> frozenset[str]:
        return frozenset(u.strip() for u in self.admins.split(",") if u.strip())

    @property
    def alert_channel_ids(self) -> list[str]:
        return [c.strip() for c in self.alert_channels.split(",") if c.strip()]

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    def require(self, *names: str) -> None:
        """Refuse to go on without these settings (lower-case field names)."""
        for name in names:
            if getattr(self, name) in (None, ""):
                raise ConfigError(f"{env_name(name)} is not set: {REQUIRED_HINTS[name]}")

    def secret_values(self) -> list[str]:
        """Every secret setting that is set (each SecretStr field), for the log redactor."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [value.get_secret_value() for value in values if isinstance(value, SecretStr)]

    def secret(self, name: str) -> str:
        """The value of a required secret setting (call `require` first)."""
        value = getattr(self, name)
        if not isinstance(value, SecretStr):
            raise ConfigError(f"{env_name(name)} is not set: {REQUIRED_HINTS[name]}")
        return value.get_secret_value()


REQUIRED_HINTS = {
    "slack_bot_token": "copy the Bot User OAuth Token (xoxb-...) from your Slack app's "
    "OAuth & Permissions page.",
    "slack_signing_secret": "copy the Signing Secret from your Slack app's Basic Information page.",
    "slack_app_token": "create an app-level token (xapp-...) with connections:write under "
    "Basic Information > App-Level Tokens.",
    "hostedscan_api_key": "create an API key in HostedScan under Settings > API.",
}


def env_name(field: str) -> str:
    alias = Settings.model_fields[field].validation_alias
    return alias if isinstance(alias, str) else field.upper()


def load_settings(*, env_file: str | None = ".env", **overrides: Any) -> Settings:
    """Build the settings, turning pydantic's error (which quotes input values) into a sentence.

    `overrides` (field names) win over the environment; tests pass `env_file=None`.
    """
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        field = str(error["loc"][0]) if error["loc"] else "a setting"
        name = env_name(field) if field in Settings.model_fields else field.upper()
        reason = str(error["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} is malformed: {reason}.") from None
