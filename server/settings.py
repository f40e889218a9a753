"""Server settings from the environment (`CAREWATCH_*`); the facility itself comes from its YAML file."""

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting can be given as `CAREWATCH_<NAME>` in the environment or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="CAREWATCH_", env_file=".env", extra="ignore")

    config: Path = Field(Path("config/facility.yaml"), description="facility file")
    profile: str | None = Field(None, description="named profile of the facility file to apply, e.g. demo")
    database_url: str = Field("sqlite:///./carewatch.db", description="SQLAlchemy URL: sqlite:///... or postgresql://...")
    mqtt_url: str = Field("mqtt://127.0.0.1:1883", description="broker URL, mqtt:// or mqtts://, user:password@")
    mqtt_protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT version; 3.1.1 for the embedded broker")
    mqtt_client_id: str = Field("carewatch-server", description="client id; give each server process its own")
    mqtt_shared_group: str = Field("", description="shared-subscription group of several servers (MQTT 5)")
    mqtt_session_expiry: int = Field(3600, ge=0, description="seconds the broker keeps our queue while we are down")
    host: str = Field("127.0.0.1", description="HTTP listen address")
    port: int = Field(8000, ge=1, le=65535, description="HTTP port")
    secret_key: SecretStr | None = Field(None, description="signs logins and links; required (12+ characters, "
                                         "not a known default) except in the demo")
    bootstrap_admin: SecretStr | None = Field(None, description="user:password of the first admin, created if absent")
    session_hours: float = Field(12, gt=0, description="how long a login lasts")
    batch_size: int = Field(500, ge=1, le=10000, description="observations per database transaction at most")
    migrate: bool = Field(True, description="apply database migrations at start")
    demo: bool = Field(False, description="demo mode (set by `carewatch demo`)")
    public_url: str = Field("", description="address people open links at (default http://HOST:PORT)")
    trust_proxy: bool = Field(False, description="behind one reverse proxy: believe its X-Forwarded-Proto and "
                              "X-Forwarded-For (https cookies and HSTS, the client's address for the login limit)")
    retention_records_days: int = Field(1827, ge=1827, description="days records are kept (drills, patrols, "
                                        "inspections, food, alerts, care): at least 5 years, as the rules ask")
    retention_dead_letters_days: int = Field(90, ge=1, description="days refused MQTT messages are kept")
    retention_observations_days: int = Field(14, ge=1, description="days raw observations are kept; hourly "
                                             "aggregates of them are kept as long as the records")
    shards: int = Field(1, ge=1, le=256, description="shards the sites are split into between several server "
                        "processes (PostgreSQL only; give every server the same number)")
    pdf_font: Path | None = Field(None, description="TrueType font (.ttf/.ttc) with Chinese glyphs for PDF reports "
                                  "(default: the first of WenQuanYi Micro Hei, Droid Sans Fallback ... found)")
    ack_link_hours: float = Field(24, gt=0, description="how long a one-tap acknowledge link works")
    ack_link_login: bool = Field(False, description="one-tap links ask for a login even when sent to one person")
    notify: bool = Field(True, description="send notifications (escalation) from this process")
    snapshot_roles: set[Literal["staff", "manager", "inspector", "admin"]] = Field(
        {"staff", "manager", "admin"}, description="roles that may see camera snapshots (JSON list)")

    @field_validator("profile", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None

    def link_base(self) -> str:
        """Where notification links point."""
        return self.public_url or f"http://{self.host}:{self.port}"

    def signing_key(self) -> str:
        """The secret that signs logins; a random one (with a warning from the caller) if none is set."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        global _EPHEMERAL_KEY
        _EPHEMERAL_KEY = _EPHEMERAL_KEY or secrets.token_urlsafe(32)
        return _EPHEMERAL_KEY


_EPHEMERAL_KEY: str | None = None
