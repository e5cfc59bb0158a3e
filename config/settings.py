"""One typed settings object, read from the environment and validated at start-up.

Every module imports :func:`get_settings`; a bad value raises :class:`SettingsError`
whose message is one line naming the variable and what it accepts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UpsertMode = Literal["background", "off", "sync_preview"]
UPSERT_MODES: tuple[UpsertMode, ...] = ("background", "off", "sync_preview")
JobsStart = Literal["nightly", "immediate"]
JOBS_STARTS: tuple[JobsStart, ...] = ("nightly", "immediate")

T = TypeVar("T")


class SettingsError(ValueError):
    """A configuration variable holds a value the product cannot use."""


@dataclass(frozen=True)
class Settings:
    """The product's configuration (see the README's configuration table)."""

    database_url: str | None
    data_dir: Path
    staging_upsert_mode: UpsertMode
    upsert_sync_limit: int
    upsert_max_per_job: int
    staging_batch_size: int
    chat_debounce_ms: int
    nightly_cron: str
    nightly_tz: str
    auth_jwt_secret: str | None
    head_budget_ms: int
    job_lease_seconds: int
    job_max_attempts: int
    job_retention_days: int
    db_pool_max: int = 10
    auth_jwt_audience: str | None = None
    auth_jwt_issuer: str | None = None
    auth_jwt_max_ttl_s: int = 86_400
    load_workers: int = 1
    jobs_start: JobsStart = "nightly"
    """When queued work runs: at NIGHTLY_CRON, or as soon as it is queued."""
    job_statement_timeout_ms: int = 120_000
    job_lock_timeout_ms: int = 30_000
    job_idle_tx_timeout_ms: int = 10_000
    default_tenant: str = "default"
    public_url: str | None = None
    """The API's address as users' browsers reach it (links in chat replies); None: the
    address each run's request came to (its Host header)."""


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected an integer >= {minimum}") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r}: expected an integer >= {minimum}")
    return value


def _choice(choices: tuple[T, ...]) -> Callable[[str, str], T]:
    def parse(name: str, raw: str) -> T:
        value = raw.strip().lower()
        for choice in choices:
            if value == choice:
                return choice
        raise SettingsError(f"{name}={raw!r}: expected one of {', '.join(map(str, choices))}")

    return parse


def _cron(name: str, raw: str) -> str:
    fields = raw.split()
    if len(fields) != 5:
        raise SettingsError(f"{name}={raw!r}: expected a 5-field crontab, e.g. '0 2 * * *'")
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(raw, timezone="UTC")
    except ValueError as exc:
        raise SettingsError(f"{name}={raw!r}: expected a 5-field crontab ({exc})") from None
    return raw


def _tz(name: str, raw: str) -> str:
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{name}={raw!r}: expected an IANA time zone, e.g. Asia/Singapore"
        ) from None
    return raw


MIN_SECRET_BYTES = 32
"""HS256 keys shorter than the hash (32 bytes) are guessable offline (RFC 7518 section 3.2)."""


def _secret(name: str, raw: str) -> str | None:
    if not raw:
        return None
    size = len(raw.encode("utf-8"))
    if size < MIN_SECRET_BYTES:
        # Never echo the value: it is a secret, even when it is a bad one.
        raise SettingsError(
            f"{name}: expected at least {MIN_SECRET_BYTES} bytes (got {size}); "
            "use a random value, e.g. `openssl rand -hex 32`"
        )
    return raw


def _url(name: str, raw: str) -> str:
    if not raw.startswith(("postgresql://", "postgres://")) and "=" not in raw:
        raise SettingsError(f"{name}={raw!r}: expected a postgresql:// URL or a libpq conninfo")
    return raw


def _public_url(name: str, raw: str) -> str:
    url = raw.strip().rstrip("/")
    scheme, sep, rest = url.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or any(c in rest for c in "?# "):
        raise SettingsError(
            f"{name}={raw!r}: expected the API's http(s):// address (https://leads.example.com)"
        )
    return url


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings from ``env`` (default: the process environment)."""
    env = os.environ if env is None else env

    def get(name: str, default: str, parse: Callable[[str, str], T]) -> T:
        raw = env.get(name)
        return parse(name, default if raw is None or raw == "" else raw)

    return Settings(
        database_url=get("DATABASE_URL", "", lambda n, v: _url(n, v) if v else None),
        data_dir=Path(env.get("ICP_DATA_DIR") or ".data"),
        staging_upsert_mode=get("STAGING_UPSERT_MODE", "background", _choice(UPSERT_MODES)),
        upsert_sync_limit=get("UPSERT_SYNC_LIMIT", "10", lambda n, v: _int(n, v, 0)),
        upsert_max_per_job=get("UPSERT_MAX_PER_JOB", "2000", lambda n, v: _int(n, v, 1)),
        staging_batch_size=get("STAGING_BATCH_SIZE", "500", lambda n, v: _int(n, v, 1)),
        chat_debounce_ms=get("CHAT_DEBOUNCE_MS", "400", lambda n, v: _int(n, v, 0)),
        nightly_cron=get("NIGHTLY_CRON", "0 2 * * *", _cron),
        nightly_tz=get("NIGHTLY_TZ", "Asia/Singapore", _tz),
        auth_jwt_secret=get("ICP_AUTH_JWT_SECRET", "", _secret),
        auth_jwt_audience=env.get("ICP_AUTH_JWT_AUDIENCE") or None,
        auth_jwt_issuer=env.get("ICP_AUTH_JWT_ISSUER") or None,
        auth_jwt_max_ttl_s=get("ICP_AUTH_JWT_MAX_TTL_S", "86400", lambda n, v: _int(n, v, 60)),
        head_budget_ms=get("ICP_HEAD_BUDGET_MS", "800", lambda n, v: _int(n, v, 1)),
        job_lease_seconds=get("ICP_JOB_LEASE_SECONDS", "60", lambda n, v: _int(n, v, 2)),
        job_max_attempts=get("ICP_JOB_MAX_ATTEMPTS", "3", lambda n, v: _int(n, v, 1)),
        job_retention_days=get("ICP_JOB_RETENTION_DAYS", "30", lambda n, v: _int(n, v, 1)),
        db_pool_max=get("ICP_DB_POOL_MAX", "10", lambda n, v: _int(n, v, 2)),
        load_workers=get("ICP_LOAD_WORKERS", str(os.cpu_count() or 1), lambda n, v: _int(n, v, 1)),
        jobs_start=get("JOBS_START", "nightly", _choice(JOBS_STARTS)),
        job_statement_timeout_ms=get(
            "ICP_JOB_STATEMENT_TIMEOUT_MS", "120000", lambda n, v: _int(n, v, 100)
        ),
        job_lock_timeout_ms=get("ICP_JOB_LOCK_TIMEOUT_MS", "30000", lambda n, v: _int(n, v, 100)),
        job_idle_tx_timeout_ms=get(
            "ICP_JOB_IDLE_TX_TIMEOUT_MS", "10000", lambda n, v: _int(n, v, 100)
        ),
        public_url=get("ICP_PUBLIC_URL", "", lambda n, v: _public_url(n, v) if v else None),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, validated once."""
    return load_settings()


def reset_settings() -> None:
    """Forget the cached settings (tests change the environment with monkeypatch)."""
    get_settings.cache_clear()
