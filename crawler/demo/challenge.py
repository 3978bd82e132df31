"""A JavaScript challenge gateway in front of a :class:`~crawler.demo.server.StaticServer`, behaving
like the ones in front of Chinese government portals (瑞数, 加速乐): for tests and benchmarks.

A request without a valid clearance cookie gets HTTP 412, a nonce cookie (HttpOnly, so a script
cannot just copy it) and a page whose obfuscated inline script, with a function from an external
script, computes a token from the nonce and the browser's User-Agent, sets it as a cookie and
reloads. The gateway checks the token against the request's own User-Agent, so the cookies work for
the client that passed and are refused to one that copied them with another User-Agent. A nonce
expires after ``lifetime`` seconds and lets ``uses`` requests through: then the challenge comes again.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

LIBRARY = "/_c/ts.js"
_LIBRARY_JS = b"""window.$_ts = window.$_ts || {};
$_ts.h = function (s) {
  var x = 0x811c9dc5;
  for (var i = 0; i < s.length; i++) { x ^= s.charCodeAt(i); x = Math.imul(x, 0x01000193) >>> 0; }
  return x.toString(16);
};
"""


def token(nonce: str, user_agent: str) -> str:
    """What the challenge's script computes: FNV-1a (32 bits) of nonce|User-Agent, in hex."""
    data = (nonce + "|" + user_agent).encode("utf-16-le")  # JavaScript's charCodeAt: UTF-16 code units
    x = 0x811C9DC5
    for i in range(0, len(data), 2):
        x = ((x ^ int.from_bytes(data[i : i + 2], "little")) * 0x01000193) & 0xFFFFFFFF
    return format(x, "x")


@dataclass
class _Nonce:
    expires: float
    uses_left: int
    passed: bool = False


@dataclass
class Challenge:
    """The gateway: ``server.gate = Challenge(...)``. Counts what it issued and what got through."""

    lifetime: float = 600.0
    uses: int = 50
    extra_html: str = ""  # put in the challenge page (tests: subresources the browser should not fetch)
    # a header only a browser sends (Chromium's sec-fetch-mode, say): a gateway that also checks the
    # client's fingerprint, whose cookies a plain client cannot reuse
    browser_header: str | None = None
    exempt: tuple[str, ...] = ("/robots.txt",)  # paths served to anyone
    issued: int = 0  # challenges answered instead of a page
    passed: int = 0  # nonces whose token came back right (challenges passed)
    let_through: int = 0  # requests let through with a valid token
    _nonces: dict[str, _Nonce] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, path: str, headers: Mapping[str, str]) -> tuple[int, bytes, dict[str, str]] | None:
        if path == LIBRARY:
            return 200, _LIBRARY_JS, {"Content-Type": "application/javascript"}
        if path in self.exempt:
            return None
        cookies = SimpleCookie()
        try:
            cookies.load(headers.get("cookie", ""))
        except Exception:  # an unparsable Cookie header is no clearance
            cookies = SimpleCookie()
        nonce = cookies["cnonce"].value if "cnonce" in cookies else ""
        clearance = cookies["clearance"].value if "clearance" in cookies else ""
        now = time.time()
        with self._lock:
            entry = self._nonces.get(nonce)
            fingerprint = self.browser_header is None or self.browser_header in headers
            live = entry is not None and entry.expires > now and entry.uses_left > 0
            if entry is not None and live and fingerprint and clearance == token(nonce, headers.get("user-agent", "")):
                entry.uses_left -= 1
                self.let_through += 1
                if not entry.passed:
                    entry.passed = True
                    self.passed += 1
                return None
            for stale in [n for n, e in self._nonces.items() if e.expires <= now]:
                del self._nonces[stale]
            nonce = secrets.token_hex(12)
            self._nonces[nonce] = _Nonce(now + self.lifetime, self.uses)
            self.issued += 1
        return (
            412,
            self._page(nonce),
            {
                "Content-Type": "text/html; charset=utf-8",
                "Set-Cookie": f"cnonce={nonce}; Path=/; HttpOnly; Max-Age={int(self.lifetime)}",
                "Cache-Control": "no-store",
            },
        )

    def expire(self) -> None:
        """End the lifetime of every nonce given out: the next request meets the challenge again."""
        with self._lock:
            self._nonces.clear()

    def _page(self, nonce: str) -> bytes:
        key = secrets.randbelow(200) + 20
        codes = ",".join(str(ord(c) ^ key) for c in nonce)
        script = (
            f"var _$a=[{codes}],_$k={key};"
            "var _$n=String.fromCharCode.apply(null,_$a.map(function(c){return c^_$k}));"
            "var _$t=$_ts.h(_$n+'|'+navigator.userAgent);"
            f"document.cookie='clearance='+_$t+'; path=/; max-age={int(self.lifetime)}';"
            "location.reload();"
        )
        encoded = base64.b64encode(script.encode()).decode()
        html = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<script src='{LIBRARY}'></script>{self.extra_html}</head><body>"
            f"<script>$_ts.c='{encoded}';(new Function(atob($_ts.c)))();</script>"
            "</body></html>"
        )
        return html.encode()
