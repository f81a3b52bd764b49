"""One Settings object, read from MARKETBOT_* environment variables (and .env), built once."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every knob of marketbot, with its default; see .env.example."""

    model_config = SettingsConfigDict(
        env_prefix="MARKETBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(
        default=Path("data"), description="Where the bot writes everything (Chroma store, logs)."
    )
    knowledge_dir: Path = Field(
        default=PROJECT_ROOT / "knowledge",
        description="The bundled corpus and tables a fresh data dir is seeded from.",
    )
    prompts_dir: Path = Field(
        default=PROJECT_ROOT / "prompts", description="Prompt and answer templates."
    )
    offline: bool = Field(
        default=False, description="Refuse every network connection except to loopback."
    )
    chroma_url: str | None = Field(
        default=None,
        description="URL of a Chroma server (chroma run); unset: the data dir's own local server.",
    )
    chroma_embedded: bool = Field(
        default=False,
        description="Open the store inside this process (no server): one process per data dir "
        "only; another process on the same dir is refused while it runs.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="PostgreSQL for the state bot processes on several hosts share (budget, "
        "answer log, feeds, leases, writer lock): postgresql://user:password@host:5432/db; "
        "unset: SQLite in the data dir.",
    )
    lease_seconds: float = Field(
        default=120.0,
        ge=1,
        le=3600,
        description="How long a claim on a job (polling one feed) lasts without renewal: how "
        "long other hosts wait for a host that died (s).",
    )
    chroma_idle_seconds: float = Field(
        default=300.0,
        ge=0,
        description="How long the data dir's own Chroma server keeps running after the last "
        "process using it stopped (s).",
    )
    collection_prefix: str = Field(
        default="marketbot", description="Prefix of the Chroma collection names."
    )
    discord_token: SecretStr | None = Field(
        default=None, description="Discord bot token; unset means the terminal console."
    )
    admin_user_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Discord user ids allowed to manage news (comma-separated).",
    )
    admin_role_ids: Annotated[list[int], NoDecode] = Field(
        default_factory=list,
        description="Discord role ids whose members may manage news in a server.",
    )
    message_content: bool = Field(
        default=False,
        description=(
            "Ask Discord for the privileged message-content intent, so replies to an answer "
            "that do not ping the bot are read as follow-ups (switch the intent on in the "
            "developer portal too, Bot tab)."
        ),
    )
    shards: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Shards to run in this process (AutoShardedBot); unset means one.",
    )
    chunk_size: int = Field(default=700, ge=200, le=4000, description="Characters per chunk.")
    chunk_overlap: int = Field(default=120, ge=0, le=1000, description="Overlap between chunks.")
    ingest_batch_chunks: int = Field(
        default=256, ge=1, le=5000, description="Chunks written per crash-safe ingestion step."
    )
    embed_batch_size: int = Field(default=64, ge=1, le=1024, description="Chunks per encode call.")
    top_k: int = Field(default=6, ge=1, le=20, description="Passages an answer may draw on.")
    refresh_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How often a running bot checks the store for news other processes added.",
    )
    exchanges: Annotated[list[str], NoDecode] = Field(
        default=["binance", "coinbase", "kraken"],
        description="ccxt exchange ids for live prices, tried in this order.",
    )
    exchange_urls: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Per exchange, a base URL replacing its API host (a proxy, a testnet): "
        "binance=http://127.0.0.1:9000,kraken=http://...",
    )
    live_timeout: float = Field(
        default=1.5, gt=0, le=30, description="Longest an answer waits for live market data (s)."
    )
    quote_ttl: float = Field(
        default=30.0, ge=0, description="How long a live price is reused before asking again (s)."
    )
    allow_private_urls: bool = Field(
        default=False,
        description="Let URLs and feeds reach loopback and private addresses (tests, "
        "private deployments).",
    )
    allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Private networks URLs may reach even so, e.g. 10.20.0.0/16 (a newsroom's "
        "own server).",
    )
    fetch_timeout: float = Field(
        default=10.0, gt=0, le=120, description="Longest wait for one page or feed (s)."
    )
    fetch_max_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest page or feed fetched."
    )
    feed_poll_minutes: float = Field(
        default=15.0, ge=1, description="How often the bot polls the feeds."
    )
    watch_seconds: float = Field(
        default=60.0,
        ge=5,
        le=3600,
        description="How often the watcher reads the prices of watched assets (one request "
        "per asset and window each time).",
    )
    max_watches: int = Field(
        default=25, ge=1, le=500, description="The most watches one server may have."
    )
    feed_fetch_full_articles: bool = Field(
        default=True,
        description="Fetch the article page when a feed item carries only a summary.",
    )
    llm: str | None = Field(
        default=None,
        description="Chat model for generated answers, as LangChain's init_chat_model names it "
        "(openai:gpt-4o-mini, anthropic:claude-..., ollama:llama3.1); unset: extractive answers.",
    )
    llm_base_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible server (vLLM, llama.cpp, Ollama's /v1) "
        "or a proxy in front of the provider.",
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        description="The model provider's API key (else the provider's own variable, e.g. "
        "OPENAI_API_KEY).",
    )
    llm_timeout: float = Field(
        default=20.0, gt=0, le=300, description="Longest wait for one model call (s)."
    )
    llm_retries: int = Field(
        default=1, ge=0, le=5, description="Retries of a failed model call, with back-off."
    )
    llm_daily_calls: int = Field(
        default=500,
        ge=0,
        description="Model calls a server (or one user in DMs) may cause per UTC day; past it, "
        "answers are extractive.",
    )
    log_level: str = Field(default="WARNING", description="Python logging level.")

    @field_validator("admin_user_ids", "admin_role_ids", mode="before")
    @classmethod
    def _ids(cls, value: object) -> object:
        return [int(part) for part in _parts(value)] if isinstance(value, str) else value

    @field_validator("exchanges", mode="before")
    @classmethod
    def _exchange_list(cls, value: object) -> object:
        return [part.lower() for part in _parts(value)] if isinstance(value, str) else value

    @field_validator("allowed_networks", mode="before")
    @classmethod
    def _network_list(cls, value: object) -> object:
        networks = _parts(value) if isinstance(value, str) else value
        for network in networks if isinstance(networks, list) else []:
            ipaddress.ip_network(str(network), strict=False)  # ValueError names the bad one
        return networks

    @field_validator("exchange_urls", mode="before")
    @classmethod
    def _exchange_url_map(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [part.split("=", 1) for part in _parts(value)]
        if any(len(pair) != 2 for pair in pairs):
            raise ValueError("expected exchange=url pairs separated by commas")
        return {name.strip().lower(): url.strip() for name, url in pairs}

    @field_validator("llm", "llm_base_url", "llm_api_key", "database_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("llm_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"


def _parts(value: str) -> list[str]:
    """The items of a comma-separated environment value, trimmed, empty ones dropped."""
    return [part.strip() for part in value.split(",") if part.strip()]
