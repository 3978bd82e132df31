"""Secrets written as ``${VAR}`` in sources.yaml, taken from the environment when used, and URLs
shown without their passwords: the one place notification destinations and proxies expand and hide them."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from crawler.errors import UnsetVariable

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(text: str) -> str:
    """``text`` with each ``${VAR}`` replaced from the environment."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise UnsetVariable(f"${{{name}}} is not set in the environment")
        return os.environ[name]

    return _VARIABLE.sub(value, text)


def has_variable(text: str) -> bool:
    return _VARIABLE.search(text) is not None


def redacted(url: str) -> str:
    """The URL without its password, for logs, errors and health."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url
