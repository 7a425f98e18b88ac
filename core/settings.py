"""Configuration for the worker, the API and the CLI: one `Settings`, from `MAPPA_*` variables and `.env`.

The defaults make `make dev` work on a laptop. Outside development they are refused where they would be
unsafe: production must name its codec key, a real database and a real mail relay.
"""

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_CODEC_KEY_FILE = Path("data/dev-codec.key")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MAPPA_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_by_name=True,
    )

    environment: Literal["development", "production"] = "development"
    log_level: str = "INFO"

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "mappa"
    task_queue: str = "mappa-cases"
    # Cases a worker keeps in memory (about 290 KiB each); beyond it the least recently used is evicted and
    # replayed from its history at its next event or timer. docs/SCALING.md sizes it.
    workflow_cache_size: int = 1000
    # Workflow tasks a worker runs at once. They are pure Python and share one interpreter lock, so more at once
    # only makes each slower: at the SDK's default of 100, a thousand imported cases' first tasks (each applying
    # its row's past events) took over 5 s apiece, past the SDK's 2 s deadlock detector and the server's 10 s
    # task timeout, and were retried. Scale workers (processes), not this (docs/SCALING.md).
    workflow_task_slots: int = Field(default=8, ge=1, le=100)

    # Hosting platforms hand out a plain DATABASE_URL; MAPPA_DATABASE_URL wins when both are set.
    database_url: str = Field(
        default="sqlite:///data/mappa.db",
        validation_alias=AliasChoices("MAPPA_DATABASE_URL", "DATABASE_URL", "database_url"),
    )

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_sender: str = "mappa-noreply@example.gov.uk"
    smtp_timeout_seconds: float = 10
    # Messages a second this worker hands the relay, at most: a little under the relay's limit for our
    # sender divided by the number of workers (docs/SCALING.md). Unset: as fast as the activities send.
    smtp_rate_per_second: float | None = Field(default=None, gt=0)

    directory_file: Path = Path("data/agency-directory.json")
    # Where an API process keeps agency events' audit rows until they are in the database (api/audit_spool.py),
    # one file per process, on a disk that outlives the process. Unset: each row is committed before the answer.
    audit_spool: Path | None = None
    # None means "the development key" in development; production must name its key file, or give the
    # same JSON document in MAPPA_CODEC_KEYS (a platform's secret store). Either way: core.codec.
    codec_key_file: Path | None = None
    codec_keys: SecretStr | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Where browsers and calendar clients reach the API (a feed's event links, the UI's codec endpoint, the
    # addresses `mappa calendar issue` prints); never taken from a request's Host header. Production names it.
    public_api_url: str | None = Field(default=None, pattern=r"^https?://[^/\s?#]+(/[^\s?#]*)?$")
    ui_origin: str = "http://localhost:8233"
    ui_port: int = 8233
    # The worker's own metrics (breaches, reminders, escalations: activities/metrics.py) and the Temporal
    # SDK's (task latencies, pollers, cache) are served on two ports, each at /metrics.
    metrics_port: int = 9464
    sdk_metrics_port: int = 9465

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def api_base_url(self) -> str:
        """The API's public base URL, without a trailing slash (in development: this machine's API port)."""
        return (self.public_api_url or f"http://localhost:{self.api_port}").rstrip("/")

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> Self:
        if not self.is_production:
            if (
                self.codec_key_file is None
                and self.codec_keys is None
                and "codec_key_file" not in self.model_fields_set
            ):
                self.codec_key_file = DEV_CODEC_KEY_FILE
            return self

        problems: list[str] = []
        # MAPPA_CODEC_KEYS, when given, is checked by core.codec as it loads it.
        if self.codec_keys is None and self.codec_key_file is None:
            problems.append(
                "MAPPA_CODEC_KEY_FILE must name the payload encryption key file (or MAPPA_CODEC_KEYS hold it)"
            )
        elif self.codec_keys is None and self.codec_key_file and not self.codec_key_file.is_file():
            problems.append(f"MAPPA_CODEC_KEY_FILE {self.codec_key_file} does not exist")
        if self.database_url.startswith("sqlite"):
            problems.append("MAPPA_DATABASE_URL must point at PostgreSQL, not SQLite")
        unset_smtp = [
            f"MAPPA_{name.upper()}"
            for name in ("smtp_host", "smtp_port", "smtp_sender")
            if name not in self.model_fields_set
        ]
        # Links in calendars and the UI's codec endpoint go to agencies' browsers: never a localhost default.
        unset_urls = [
            f"MAPPA_{name.upper()}"
            for name in ("public_api_url", "ui_origin")
            if name not in self.model_fields_set
        ]
        if unset_urls:
            problems.append(
                f"{', '.join(unset_urls)} must be set explicitly (the addresses browsers and calendars use)"
            )
        if unset_smtp:
            problems.append(
                f"{', '.join(unset_smtp)} must be set explicitly (notifications go to real agencies)"
            )
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
