"""The sandbox served over real loopback HTTP for its tests, with a client holding the key."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from scanbot.sandbox.server import (
    API_KEY_HEADER,
    SANDBOX_API_KEY,
    SandboxControls,
    create_sandbox_app,
)
from scanbot.sandbox.world import SandboxWorld
from scanbot.serving import serve_in_background


@dataclass
class Sandbox:
    world: SandboxWorld
    controls: SandboxControls
    http: httpx.AsyncClient  # carries the right key
    url: str


@contextlib.asynccontextmanager
async def serving(world: SandboxWorld, **options: Any) -> AsyncIterator[Sandbox]:
    """`world` behind the sandbox's app (`options` for `create_sandbox_app`) on loopback."""
    app = create_sandbox_app(world, **options)
    async with (
        serve_in_background(app) as url,
        httpx.AsyncClient(base_url=url, headers={API_KEY_HEADER: SANDBOX_API_KEY}) as http,
    ):
        yield Sandbox(world, app.state.controls, http, url)


def filters(value: dict[str, list[str]]) -> dict[str, str]:
    return {"filters": json.dumps(value)}


async def walk(http: httpx.AsyncClient, path: str, **params: str) -> list[dict[str, Any]]:
    """Every page of a list, checking each page's token as it goes."""
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        response = await http.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        pages += 1
        token = body.get("next_page_token")
        if token is None:
            return items
        assert body["data"], "a page with a token is never empty"
        params = {**params, "page_token": token}
        assert pages < 1000
