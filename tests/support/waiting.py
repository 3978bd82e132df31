"""Waiting for what a daemon does, instead of guessing how long it takes."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any


async def until(condition: Callable[[], Any], seconds: float, *, in_thread: bool = False) -> bool:
    """Poll ``condition`` until it holds (True) or ``seconds`` pass (False). ``in_thread``: the check
    blocks (a database query), so it runs off the event loop the daemon under test shares; a
    coroutine function's result is awaited."""
    deadline = asyncio.get_running_loop().time() + seconds

    async def holds() -> Any:
        result = await asyncio.to_thread(condition) if in_thread else condition()
        return await result if inspect.isawaitable(result) else result

    while not await holds():
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def wait_until(condition: Callable[[], Any], *, timeout: float, message: str) -> None:
    """Block until ``condition`` holds; after ``timeout`` seconds fail the test, saying what never happened."""
    import time

    import pytest

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout:.0f} s: {message}")
        time.sleep(0.05)


def wait_listening(process: Any, port: int, log: Any, *, timeout: float = 30) -> None:
    """Block until the server ``process`` accepts connections on 127.0.0.1:``port``; if it exits
    first, or the time runs out, fail the test with what it wrote to ``log`` (a Path)."""
    import socket

    import pytest

    def accepting() -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(lambda: process.poll() is not None or accepting(), timeout=timeout, message=f"a server on {port}")
    if process.poll() is not None:
        pytest.fail(f"the server for port {port} exited: {log.read_text()[-2000:]}")
