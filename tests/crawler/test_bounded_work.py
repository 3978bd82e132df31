"""Work on hostile input grows with its size, never faster: each shape below was quadratic (or worse)
somewhere between the fetch and storage, and took minutes to hours at these sizes.

Each case runs in its own process: a parser or a regular expression holds the GIL, so only another
process can be stopped when it hangs. The limit is a guard against a hang, not a speed target."""

from __future__ import annotations

import subprocess
import sys

import pytest

PARAGRAPH = '"<p>" + "正文内容，检察机关依法履职。" * 20 + "</p>"'
ARTICLE = "http://x.gov.cn/202211/t20221130_1.shtml"
LIST = "http://x.gov.cn/list/index.shtml"


def _adapter(name: str) -> str:
    return (
        "from crawler.adapters import resolve\nfrom crawler.config import Source\n"
        f"source = Source.model_validate({{'id': 'x', 'name': 'x', 'adapter': {name!r}, 'lists': [{LIST!r}],"
        " 'schedule': {'every': '1h'}})\n"
        f"adapter = resolve({name!r})(source)\n"
    )


EXTRACT = "from crawler.extract import extract_article\n"
CASES = {
    "an article nested 300,000 deep": (
        EXTRACT + f'page = "<html><title>标题</title><body>" + "<div>" * 300_000 + {PARAGRAPH} * 3\n'
        f"assert '正文内容' in extract_article(page, {ARTICLE!r}).body_text"
    ),
    "an article of 1,000,000 unclosed <b>": (
        EXTRACT + f'page = "<body>" + "<b>" * 1_000_000 + {PARAGRAPH} * 3\n'
        f"assert '正文内容' in extract_article(page, {ARTICLE!r}).body_text"
    ),
    "an article of 300,000 nested tables": (
        EXTRACT + f'page = "<body>" + "<table><tr><td>" * 300_000 + {PARAGRAPH} * 3\n'
        f"assert '正文内容' in extract_article(page, {ARTICLE!r}).body_text"
    ),
    "a list page nested 300,000 deep": (
        _adapter("trs") + 'page = "<body>" + "<div>" * 300_000 + "<a href=/202211/t20221130_1.shtml>x</a>"\n'
        f"assert len(adapter.parse_list(page, {LIST!r}, backfill=3).links) == 1"
    ),
    "a Hanweb list page of 200,000 unclosed records": (
        _adapter("hanweb") + 'page = "<body>" + "<record><![CDATA[" * 200_000\n'
        f"assert adapter.parse_list(page, {LIST!r}).links == []"
    ),
    "a feed of 200,000 DOCTYPE subsets": (
        _adapter("feed") + f'page = "<!DOCTYPE [" * 200_000\nassert adapter.parse_list(page, {LIST!r}).links == []'
    ),
    "a 1.2-million-character paragraph of quoted campaigns": (
        "from crawler.campaigns.extract import extract_campaigns\n"
        'found = extract_campaigns("开展“检察护企”专项行动，" * 100_000)\n'
        "assert found and found[0].count >= 100_000"
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_costs_time_linear_in_its_size(case: str) -> None:
    try:
        done = subprocess.run([sys.executable, "-c", CASES[case]], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case}: not done in 120 s (seconds when the work is linear)")
    assert done.returncode == 0, done.stderr[-2000:]
