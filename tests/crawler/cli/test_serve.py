"""`procwatch serve` on an address that is taken: one line naming it, exit 4 (it was the database's 3)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.cli import procwatch as cli


def test_serve_on_a_busy_port_is_one_line_naming_the_address_with_exit_4(mirror, sqlite_store, tmp_path: Path) -> None:
    config = mirror.write_config(tmp_path / "sources.yaml")
    database = sqlite_store.engine.url.database
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = cli("serve", "--port", str(port), "--config", str(config), "--db", str(database))
    assert result.returncode == 4, result
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and len(result.stderr.strip().splitlines()) == 1
