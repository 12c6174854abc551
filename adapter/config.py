"""The adapter's configuration: environment variables with the `DEZO_` prefix, checked at start."""

from __future__ import annotations

import ipaddress
from datetime import date
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from adapter.bus.address import broker_urls
from adapter.bus.topology import TopologySettings
from adapter.consumer.budget import BodiesWindow
from adapter.consumer.url_policy import AllowedHosts
from adapter.oncor.client import FlowPolicy, RetryPolicy, SearchPolicy
from adapter.oncor.transport import TransportName

ENV_PREFIX = "DEZO_"
DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
# Never echoed back, not even when invalid: the URLs because they may hold credentials.
_SECRET_FIELDS = {"oncor_token", "amqp_url", "oncor_url", "oncor_ui_url"}


class ConfigError(Exception):
    """The environment holds values the adapter cannot start with; the message lists each."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    # ONCOR
    oncor_url: AnyHttpUrl = Field(
        AnyHttpUrl("http://127.0.0.1:8080/api/1.0/json/"),
        description="ONCOR API base URL, ending in /api/1.0/json/",
    )
    oncor_token: SecretStr = Field(description="ONCOR API token (X-Oncor-API-Token)")
    oncor_timezone: str = Field("Asia/Yekaterinburg", description="Time zone of ONCOR's clock")
    oncor_ui_url: AnyHttpUrl | None = Field(
        None, description="Origin for /ui-orid/ links; default: the API URL's origin"
    )
    oncor_connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect")
    oncor_read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for an answer")
    oncor_retry_attempts: int = Field(4, ge=1, le=20, description="In-process tries per call")
    oncor_retry_max_seconds: float = Field(
        20.0, gt=0, description="In-process retry budget per call, in seconds"
    )
    oncor_max_connections: int = Field(50, ge=1, le=1000, description="HTTP connection pool size")
    oncor_max_concurrency: int = Field(
        50, ge=1, le=1000, description="ONCOR calls in flight at once, poller and consumer together"
    )
    oncor_max_rps: float | None = Field(
        None, gt=0, description="ONCOR calls started per second at most; unset: no limit"
    )
    oncor_outage_wait: float = Field(
        120.0, ge=0, description="Seconds a call waits for ONCOR while the circuit is open"
    )
    oncor_http_transport: TransportName = Field("aiohttp", description="aiohttp or httpx")
    oncor_search_ready_timeout: float = Field(
        60.0, gt=0, description="Seconds to wait for a search job to become ready"
    )
    oncor_page_size: int = Field(100, ge=1, le=1000, description="Records per search page")
    oncor_page_offset: Literal["auto", "page", "record"] = Field(
        "auto", description="What RecordsPage offset counts; auto detects it"
    )

    # RabbitMQ
    amqp_url: SecretStr = Field(
        SecretStr(DEFAULT_AMQP_URL),
        description="AMQP URL of the broker, or comma-separated nodes of a cluster: full URLs, "
        "or host[:port] taking the rest from the first",
    )

    # order publisher
    poll_interval: float = Field(30.0, gt=0, description="Seconds between order searches")
    poll_from_date: date | None = Field(
        None, description="Search orders created since this date (YYYY-MM-DD)"
    )
    poll_lookback_days: int = Field(
        30, ge=1, description="Without DEZO_POLL_FROM_DATE: search this many days back"
    )
    poll_concurrency: int = Field(16, ge=1, le=256, description="Orders enriched in parallel")

    # command consumer
    command_prefetch: int = Field(64, ge=1, le=1000, description="Commands processed in parallel")
    command_delivery_limit: int = Field(
        5, ge=1, description="Deliveries before the broker dead-letters a crashing command"
    )
    command_retry_delays: tuple[float, ...] = Field(
        (1.0, 5.0, 30.0, 120.0, 600.0),
        description="Delays of the retry queues, seconds, JSON list; their count is the budget",
    )
    command_max_bytes: int = Field(
        12 * 2**20, ge=1024, description="Largest command message accepted, bytes"
    )
    command_memory_budget_bytes: int = Field(
        256 * 2**20,
        ge=2**20,
        description="Memory for commands in flight, bytes: bounds their bodies and the commands "
        "carried out at once (README, Resource limits)",
    )
    attachment_inline_max_bytes: int = Field(
        8 * 2**20, ge=1, description="Largest inline (base64) attachment, decoded bytes"
    )
    attachment_url_max_bytes: int = Field(
        100 * 2**20, ge=1, description="Largest attachment downloaded by URL, bytes"
    )
    attachment_url_timeout: float = Field(
        60.0, gt=0, description="Seconds allowed to download an attachment by URL"
    )
    attachment_url_allowed_hosts: tuple[str, ...] = Field(
        (),
        description="Hosts attachments may be downloaded from, JSON list of host, host:port "
        "or *.domain; empty: none",
    )
    attachment_url_concurrency: int = Field(
        8,
        ge=1,
        le=256,
        description="Attachments downloaded by URL at once (and half a lane fewer than the "
        "commands in flight); one more is retried later",
    )
    attachment_spool_max_bytes: int = Field(
        1024 * 2**20, ge=2**20, description="Disk for downloaded attachments at once, bytes"
    )
    dictionary_refresh_interval: float = Field(
        3600.0, gt=0, description="Seconds between refreshes of ONCOR's dictionaries"
    )

    # operations
    shutdown_grace: float = Field(
        30.0, ge=0, description="Seconds to finish in-flight work after SIGTERM"
    )
    http_port: int = Field(9100, ge=0, le=65535, description="Port of /metrics, /healthz, /readyz")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level")

    @field_validator("oncor_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}, e.g. Asia/Yekaterinburg") from None
        return value

    @field_validator("oncor_token")
    @classmethod
    def _token_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty or blank")
        return value

    @field_validator("oncor_url", "oncor_ui_url")
    @classmethod
    def _no_credentials(cls, value: AnyHttpUrl | None) -> AnyHttpUrl | None:
        # They would end up in every ui_link of every outcome; ONCOR wants the token only.
        if value is not None and (value.username or value.password):
            raise ValueError(
                "must not contain credentials (user:password@); ONCOR takes its "
                "token from DEZO_ONCOR_TOKEN"
            )
        return value

    @field_validator("amqp_url")
    @classmethod
    def _amqp_urls(cls, value: SecretStr) -> SecretStr:
        broker_urls(value.get_secret_value())  # raises ValueError naming the bad entry
        return value

    @property
    def amqp_urls(self) -> tuple[str, ...]:
        """Every broker address of DEZO_AMQP_URL, as a full URL."""
        return broker_urls(self.amqp_url.get_secret_value())

    @field_validator("attachment_url_allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        AllowedHosts.parse(value)  # raises ValueError naming the bad entry
        return value

    @property
    def allowed_attachment_hosts(self) -> AllowedHosts:
        return AllowedHosts.parse(self.attachment_url_allowed_hosts)

    @property
    def plaintext_endpoints(self) -> list[str]:
        """The settings that reach another machine without TLS (warned about at start)."""
        endpoints = {"DEZO_ONCOR_URL": (str(self.oncor_url),), "DEZO_AMQP_URL": self.amqp_urls}
        return [
            name
            for name, urls in endpoints.items()
            if any(
                urlsplit(url).scheme in ("http", "amqp") and not _is_local(urlsplit(url).hostname)
                for url in urls
            )
        ]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.oncor_timezone)

    @property
    def oncor_origin(self) -> str:
        """Where ONCOR's web UI lives, for `/ui-orid/` links."""
        url = urlsplit(str(self.oncor_ui_url or self.oncor_url))
        return f"{url.scheme}://{url.netloc}"

    @property
    def command_window(self) -> BodiesWindow:
        """The commands in flight: DEZO_COMMAND_PREFETCH, in lanes that keep the bodies within
        their share of the memory budget (see consumer.budget)."""
        return BodiesWindow(
            self.command_memory_budget_bytes, self.command_max_bytes, self.command_prefetch
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.oncor_retry_attempts, max_seconds=self.oncor_retry_max_seconds
        )

    @property
    def flow_policy(self) -> FlowPolicy:
        return FlowPolicy(
            max_concurrency=self.oncor_max_concurrency,
            max_rps=self.oncor_max_rps,
            outage_wait=self.oncor_outage_wait,
        )

    @property
    def topology(self) -> TopologySettings:
        return TopologySettings(
            delivery_limit=self.command_delivery_limit,
            retry_delays=self.command_retry_delays,
            handover_delay=self.oncor_write_horizon,
        )

    @property
    def oncor_write_horizon(self) -> float:
        """How long after its sender gave up a write may still land in ONCOR: a replica taking
        over another's work waits this long before it looks for that work's effects."""
        return self.oncor_connect_timeout + self.oncor_read_timeout

    @property
    def search_policy(self) -> SearchPolicy:
        return SearchPolicy(
            ready_timeout=self.oncor_search_ready_timeout,
            page_size=self.oncor_page_size,
            offset_mode=self.oncor_page_offset,
        )


def _is_local(host: str | None) -> bool:
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    """Read the environment; on bad values raise ConfigError naming each variable and why."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            shown = "" if field in _SECRET_FIELDS else f" (got {error['input']!r})"
            lines.append(f"  {ENV_PREFIX}{field.upper()}: {error['msg']}{shown}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
