"""Daemon log lines carry Beijing time, with its offset, like everything else procwatch shows."""

from __future__ import annotations

import json
import logging

from crawler.daemon.logs import JsonFormatter, TextFormatter


def _record() -> logging.LogRecord:
    record = logging.LogRecord("procwatch.fetch", logging.INFO, __file__, 1, "spp 200 new", None, None)
    record.created = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    return record


def test_text_lines_are_in_beijing_time() -> None:
    line = TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s").format(_record())
    assert line.startswith("2023-11-15T06:13:20.000+08:00 INFO procwatch.fetch: spp 200 new")


def test_json_lines_are_in_beijing_time() -> None:
    payload = json.loads(JsonFormatter().format(_record()))
    assert payload["time"] == "2023-11-15T06:13:20.000+08:00"
