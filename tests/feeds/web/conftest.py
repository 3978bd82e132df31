"""An archive with something to see: three portals crawled, one article edited, one removed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from starlette.testclient import TestClient

from crawler.cli.fetch import crawl_once
from crawler.config import Config, load_config
from crawler.demo.mirror import Mirror
from feeds.http import TolerantH11Protocol
from feeds.server import create_app
from storage import Store
from tests.conftest import feed_catalog
from tests.support.waiting import wait_until

OLD, NEW = "专项行动", "专项行动(第二阶段)"


@dataclass(frozen=True)
class Archive:
    config: Config
    store: Store
    edited_url: str
    removed_url: str


@pytest.fixture
def archive(mirror: Mirror, sqlite_store: Store, tmp_path) -> Archive:
    config = load_config(mirror.write_config(tmp_path / "sources.yaml"))

    def crawl_all() -> None:
        for source in config.sources:
            asyncio.run(crawl_once(config, source, sqlite_store, backfill=5))

    crawl_all()
    body = mirror.article("spp", 1).body
    assert OLD in body
    edited = mirror.edit("spp", 1, body=body.replace(OLD, NEW, 1))
    removed = mirror.remove("scjcy", 0)
    crawl_all()
    return Archive(config, sqlite_store, edited, removed)


@pytest.fixture
def web(archive: Archive) -> TestClient:
    return TestClient(create_app(archive.store, lambda: feed_catalog(archive.config)))


@pytest.fixture
def served(archive: Archive) -> Iterator[str]:
    """The feed server on a real socket (uvicorn, as `procwatch serve` runs it); yields its base URL."""
    app = create_app(archive.store, lambda: feed_catalog(archive.config))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", http=TolerantH11Protocol)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=20, message="the feed server listens")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
