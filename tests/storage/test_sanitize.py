"""Stored body HTML and feed HTML never carry a link a browser would run, however the scheme is disguised."""

from __future__ import annotations

import pytest

from storage.sanitize import sanitize_html

PAGE = "https://www.spp.gov.cn/spp/xwfbh/202407/t20240709_660012.shtml"
SMUGGLED = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "\u00a0javascript:alert(1)",  # no-break space: stripped after the check, it used to come back to life
    "\u3000javascript:alert(1)",  # ideographic space
    " \t\njavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "\x01javascript:alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "javascript&colon;alert(1)",
    "&#x20;javascript:alert(1)",
    "&nbsp;javascript:alert(1)",
    "\ufeffjavascript:alert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
]


@pytest.mark.parametrize("href", SMUGGLED)
def test_disguised_script_links_are_dropped_from_stored_html(href: str) -> None:
    markup = f'<p><a href="{href}">链接</a><img src="{href}"></p>'
    for cleaned in (sanitize_html(markup, PAGE),):
        lowered = cleaned.lower()
        assert "script" not in lowered and "data:" not in lowered and "href" not in lowered, cleaned
        assert "链接" in cleaned


def test_ordinary_links_survive_and_become_absolute() -> None:
    markup = '<p><a href="/spp/a.shtml">甲</a> <a href=" ../b.pdf ">乙</a> <a href="mailto:x@spp.gov.cn">丙</a></p>'
    cleaned = sanitize_html(markup, PAGE)
    assert 'href="https://www.spp.gov.cn/spp/a.shtml"' in cleaned
    assert 'href="https://www.spp.gov.cn/spp/xwfbh/b.pdf"' in cleaned and 'href="mailto:x@spp.gov.cn"' in cleaned
    assert sanitize_html(cleaned, PAGE) == cleaned  # stable: sanitising once is enough
