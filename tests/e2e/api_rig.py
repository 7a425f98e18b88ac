"""What the API tests drive: the app in-process (`httpx.ASGITransport`), a database built by the migrations
with the agency directory loaded, and a token for each test user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.auth import issue_token
from api.token_cache import TokenCache
from core.database import make_engine, session_factory
from core.settings import Settings
from store.directory import load_directory
from store.migrate import upgrade
from tests.helpers import SmtpSink
from workflows.rules.calendar import LONDON

DIRECTORY = Path(__file__).resolve().parents[2] / "store" / "seed" / "directory.json"

# Who the tests act as: key -> (role, agency, area).
USERS: dict[str, tuple[str, str | None, str | None]] = {
    "lan-co": ("co-ordinator", "lanarkshire-justice-social-work", "lanarkshire"),
    "lan-chair": ("chair", "police-scotland-lanarkshire", "lanarkshire"),
    "lan-police": ("agency-worker", "police-scotland-lanarkshire", "lanarkshire"),
    "lan-nhs": ("agency-worker", "nhs-lanarkshire", "lanarkshire"),
    "lan-council": ("agency-worker", "south-lanarkshire-council", "lanarkshire"),
    "lan-ops": ("ops", None, "lanarkshire"),
    "gla-co": ("co-ordinator", "glasgow-justice-social-work", "glasgow"),
    "was-police": ("agency-worker", "wiltshire-police", "wiltshire-and-swindon"),
    "sps": ("agency-worker", "sps", None),  # a national agency: its token has no area
}


def london_today() -> date:
    return datetime.now(LONDON).date()


@dataclass
class ApiRig:
    http: httpx.AsyncClient
    engine: Engine
    settings: Settings
    smtp: SmtpSink
    env: WorkflowEnvironment
    tokens: dict[str, str]
    app: FastAPI | None = None

    def pass_token_cache_time(self) -> None:
        """As if the token cache's seconds had passed: every remembered token is looked up again."""
        assert self.app is not None
        cache: TokenCache = self.app.state.token_cache
        self.app.state.token_cache = TokenCache(cache.seconds)

    def auth(self, user: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    async def post(
        self, user: str, path: str, body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        return await self.http.post(path, json=body, headers=self.auth(user, key))

    async def get(self, user: str, path: str, **params: str) -> httpx.Response:
        return await self.http.get(path, params=params, headers=self.auth(user))

    async def event(
        self, user: str, case_ref: str, path: str, body: dict[str, Any], key: str | None = None
    ) -> dict[str, Any]:
        """Send an event that must be accepted; returns the Receipt."""
        response = await self.post(user, f"/cases/{case_ref}/{path}", body, key)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        receipt: dict[str, Any] = response.json()
        return receipt


def database(tmp_path: Path) -> tuple[str, Engine]:
    url = f"sqlite:///{tmp_path / 'mappa.db'}"
    engine = make_engine(url)
    upgrade(engine)
    load_directory(engine, DIRECTORY)
    return url, engine


def issue_tokens(engine: Engine) -> dict[str, str]:
    with session_factory(engine).begin() as session:
        return {
            key: issue_token(session, user_name=f"test {key}", agency_id=agency, role=role, area=area)
            for key, (role, agency, area) in USERS.items()
        }
