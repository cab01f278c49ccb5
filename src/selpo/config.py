"""Settings: every knob of selpo, from the environment (prefix ``SELPO_``) or ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from selpo.errors import InvalidInput


class Settings(BaseSettings):
    """Runtime configuration; construct one explicitly in tests and the CLI."""

    model_config = SettingsConfigDict(env_prefix="SELPO_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = Field(
        default="development",
        description=(
            "`production` refuses to start while a secret (the pickup-code pepper) still has "
            "its development default."
        ),
    )
    database_url: str = Field(
        default="sqlite:///var/selpo.db",
        description="SQLAlchemy URL: SQLite by default, postgresql+psycopg://... in production.",
    )
    read_database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL for reads that tolerate a little lag (the dashboard, the"
            " pickup-point search, the recipient's tracking page), e.g. the standby; unset:"
            " the primary (`database_url`). Writes, and the reads that follow them, never"
            " use it."
        ),
    )
    database_switch_retry_s: float = Field(
        default=10.0,
        ge=0,
        description=(
            "How long a request that is safe to run again (GET, HEAD, or a write with an"
            " Idempotency-Key) is held and retried while PostgreSQL switches to its standby;"
            " past it, and at once for the others, 503 with Retry-After."
        ),
    )
    database_echo: bool = Field(default=False, description="Log every SQL statement.")
    default_region: str | None = Field(
        default=None,
        description=(
            "Region (code or name) `selpo import-region` and `make run` import; unset: the"
            " region whose curated manifest ships in the package (network.regions)."
        ),
    )
    search_max_limit: int = Field(
        default=1_000, description="Largest `limit` the pickup-point search accepts."
    )
    search_max_radius_km: float = Field(
        default=500.0, description="Largest `radius_km` the pickup-point search accepts."
    )
    pickup_code_pepper: str = Field(
        default="selpo-development-pepper-change-me",
        description="Server secret that keys the pickup-code hashes; set a long random one.",
    )
    # Unset: the rule's own figures, stated once in shipment.rules.PICKUP_CODE_LOCKOUT (the
    # settings import no domain, so they do not repeat them here).
    pickup_code_max_failures: int | None = Field(
        default=None,
        ge=1,
        description="Wrong pickup codes in a row before the code locks (unset: the rule's 5).",
    )
    pickup_code_lock_minutes: int | None = Field(
        default=None,
        ge=1,
        description="How long a locked code stays locked, minutes (unset: the rule's 15).",
    )
    scan_clock_skew_minutes: int = Field(
        default=5,
        ge=0,
        description="How far in the future a scan's time may lie (the scanners' clock skew).",
    )
    personal_data_retention_days: int = Field(
        default=90, description="Days after a shipment ends before the recipient's data is purged."
    )
    tracking_event_retention_months: int = Field(
        default=24,
        ge=1,
        description=(
            "PostgreSQL: months of tracking events kept besides the current one; the worker's"
            " `maintain-partitions` job drops older months' partitions whole."
        ),
    )
    outbox_retention_months: int = Field(
        default=2,
        ge=1,
        description=(
            "PostgreSQL: months of outbox partitions kept besides the current one (finished"
            " rows are deleted after 30 days anyway; a month still holding a pending row stays)."
        ),
    )
    storage_reminder_days: int = Field(
        default=2, description="Days before the storage deadline the reminder SMS goes out."
    )
    tariff_file: Path | None = Field(
        default=None,
        description="JSON price list (fields of logistics.tariff.Tariff); unset: the default.",
    )
    sms_log_path: Path = Field(
        default=Path("var/sms.log"),
        description=(
            "File the development SMS gateway appends messages to (phones masked, texts as"
            " sent); created readable by its owner only (0600)."
        ),
    )
    webhook_allow_hosts: str = Field(
        default="",
        description=(
            "Comma-separated host names or IPs a webhook URL may name over plain http and that"
            " may resolve to loopback or private addresses (development and tests); empty:"
            " every webhook is https to a public address."
        ),
    )
    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description="Longest one webhook attempt may take in all (connecting takes at most 3 s).",
    )
    webhook_concurrency: int = Field(
        default=4,
        ge=1,
        description=(
            "POSTs one subscription may have in flight at once, across workers (a batching"
            " subscription's POST carries up to its batch_max events)."
        ),
    )
    delivery_threads: int = Field(
        default=16, ge=1, description="Webhook POSTs one worker sends at once (SMS have 4 more)."
    )
    jobs_interval_s: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How often the worker runs its timed jobs (storage expiry, reminders, the"
            " timetable); the two purges run at most hourly."
        ),
    )
    jobs_chunk_size: int = Field(
        default=200,
        ge=1,
        description="Rows a timed job handles per transaction; a full chunk is followed by more.",
    )
    map_tile_url: str | None = Field(
        default=None,
        description=(
            "Tile URL template of the dashboard's map (e.g. https://tile.example/{z}/{x}/{y}.png);"
            " unset: offices on a blank background, nothing fetched from outside."
        ),
    )
    map_tile_attribution: str = Field(
        default="", description="Attribution line shown under the map's tiles (with the URL)."
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description=(
            "Base URL people reach this server at: the recipient's SMS link their parcel's"
            " page as <URL>/t/<tracking number> (an https URL without its scheme); a loopback"
            " host (the default) is no link for a phone, so the SMS carry the number alone."
        ),
    )
    rate_limit_per_key: float = Field(
        default=50.0,
        ge=0,
        description=(
            "Requests per second one API key may make (token bucket, burst of twice that, per "
            "API process); 0 turns the limit off. Over it: 429 with Retry-After."
        ),
    )
    rate_limit_per_session: float = Field(
        default=10.0,
        ge=0,
        description=(
            "Requests per second one clerk's session may make on the pages (burst of twice "
            "that); 0 turns the limit off."
        ),
    )
    rate_limit_signin_per_minute: float = Field(
        default=10.0,
        ge=0,
        description=(
            "Sign-in attempts per minute from one client address (burst of twice that); 0 "
            "turns the limit off. Behind a proxy, the address in X-Forwarded-For (from the "
            "proxies uvicorn trusts: FORWARDED_ALLOW_IPS, 127.0.0.1 by default)."
        ),
    )
    rate_limit_tracking_per_minute: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Parcel lookups per minute one client address may make on the recipient's page"
            " (/t/<number>; a burst of that many); past it a Russian page answers 429 with"
            " Retry-After, so tracking numbers cannot be enumerated. 0 turns the limit off."
        ),
    )
    rate_limit_counter_search_per_minute: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Searches per minute one clerk may make in the counter's «Поиск» (by order "
            "number, phone digits or surname; a burst of that many); past it the page says "
            "when to try again (429), so recipients cannot be enumerated. 0 turns it off."
        ),
    )
    rate_limit_auth_failures_per_minute: float = Field(
        default=30.0,
        ge=0,
        description=(
            "Failed API authentications (401) per minute one client address may have (burst of"
            " twice that); past it the address is answered 429 before its key is looked up. 0"
            " turns the limit off."
        ),
    )
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest request body accepted, in bytes; a bigger one answers 413.",
    )


# Secrets with a development default: SELPO_ENV=production refuses to start while one is unset.
DEVELOPMENT_SECRETS = ("pickup_code_pepper",)
MIN_SECRET_LENGTH = 16


class InsecureSettings(InvalidInput):
    """Production settings that still carry a development secret (the CLI prints it, exit 2)."""


def check_production_secrets(settings: Settings) -> None:
    """Refuse (``InsecureSettings``) production settings with a default or short secret."""
    if settings.env != "production":
        return
    for name in DEVELOPMENT_SECRETS:
        value = getattr(settings, name)
        variable = f"SELPO_{name.upper()}"
        if value == Settings.model_fields[name].default:
            raise InsecureSettings(
                f"{variable} still has its development default: set a long random secret "
                "before starting with SELPO_ENV=production",
                field=variable,
            )
        if len(value) < MIN_SECRET_LENGTH:
            raise InsecureSettings(
                f"{variable} is shorter than {MIN_SECRET_LENGTH} characters: set a long "
                "random secret before starting with SELPO_ENV=production",
                field=variable,
            )


@lru_cache
def get_settings() -> Settings:
    """Return the process settings (cached; tests build their own ``Settings``)."""
    return Settings()
