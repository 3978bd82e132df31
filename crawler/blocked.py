"""Recognise anti-bot answers, which must be recorded as 'blocked' and never parsed as articles."""

from __future__ import annotations

import re

_CHALLENGES = (
    (
        re.compile(rb"\$_ts\s*=|\$_ts\.|_\$[a-zA-Z]{2}\(|FSSBBIl1UgzbN7N", re.S),
        "瑞数 (Riversecurity) JavaScript challenge",
    ),
    (re.compile(rb"__jsluid|__jsl_clearance|_jsl_clearance_s", re.S), "加速乐 (jiasule) JavaScript challenge"),
    (re.compile(rb"cdn_sec_tc|acw_sc__v2|acw_tc", re.S), "Aliyun WAF JavaScript challenge"),
    (re.compile(rb"yunsuo_session_verify|security_verify_data", re.S), "云锁 (yunsuo) challenge"),
    (re.compile(rb"window\.location\.reload\(|document\.cookie\s*=.*location", re.S), "JavaScript cookie challenge"),
)
_TEXT = re.compile(rb"<script.*?</script>|<style.*?</style>|<[^>]+>|\s+", re.S | re.I)
STUB_TEXT_BYTES = 60
CHALLENGE_STATUSES = frozenset({202, 403, 412, 503, 521})  # what anti-bot gateways answer a challenge with


def blocked_reason(status: int, content: bytes, headers: dict[str, str] | None = None) -> str | None:
    """Why this response is an anti-bot answer rather than a page, or None if it looks genuine."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    head = content[:20000]
    for pattern, name in _CHALLENGES:
        challenge_status = status in CHALLENGE_STATUSES
        if pattern.search(head) and (challenge_status or len(_TEXT.sub(b"", head)) < STUB_TEXT_BYTES * 3):
            return f"{name} (HTTP {status})"
    if status == 412:
        return "HTTP 412 (precondition failed: an anti-bot gateway)"
    if status == 200 and len(content) < 4096 and b"<script" in content.lower():
        visible = _TEXT.sub(b"", content)
        if len(visible) < STUB_TEXT_BYTES:
            return f"tiny stub page ({len(content)} bytes, {len(visible)} bytes of text, scripts only)"
    return None
