"""Logging for the daemon: readable lines on a terminal, one JSON object per line for log shippers."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import asdict, is_dataclass
from datetime import datetime

from storage.clock import BEIJING


def beijing_time(record: logging.LogRecord) -> str:
    """A record's time in Beijing time, like every other time procwatch shows (with its offset)."""
    return datetime.fromtimestamp(record.created, BEIJING).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return beijing_time(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "time": beijing_time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fetch = getattr(record, "fetch", None)
        if fetch is not None and is_dataclass(fetch):
            payload.update(asdict(fetch))  # type: ignore[arg-type]
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "httpx", "httpcore", "uvicorn.access", "procrastinate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
