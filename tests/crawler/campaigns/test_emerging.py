"""Campaigns discovered from the archive: names several sources took up recently, in no lexicon.

The archive is built in the test from real published texts (../shared/eval/real and ../shared/seeds),
each stored as an article of its own source and date; mentions come from the extractor's rules alone
(an empty lexicon), so names the shipped lexicon knows are discoverable too and the lexicon's
exclusion can be checked.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from crawler.campaigns import CampaignExtractor, Lexicon, builtin_lexicon, load_lexicon
from crawler.cli import app
from crawler.config import load_config
from crawler.dates import BEIJING
from crawler.extract import ExtractedArticle
from feeds.build import build_feeds
from storage import Store
from tests.conftest import feed_catalog

SHARED = Path(__file__).resolve().parents[4] / "shared"
pytestmark = pytest.mark.skipif(
    not (SHARED / "eval" / "real").is_dir(), reason=f"real texts not found at {SHARED / 'eval' / 'real'}"
)
RULES_ONLY = CampaignExtractor(Lexicon())
runner = CliRunner()

# document prefix -> (source, publication date): each real text as published by its own portal
ARCHIVE = {
    "103": ("wuhu", datetime(2019, 5, 7, tzinfo=BEIJING)),
    "106": ("dali", datetime(2021, 7, 2, tzinfo=BEIJING)),
    "000": ("scjcy", datetime(2021, 9, 1, tzinfo=BEIJING)),
    "107": ("hongshan", datetime(2021, 12, 30, tzinfo=BEIJING)),
    "002": ("zfw", datetime(2022, 12, 1, tzinfo=BEIJING)),
    "112": ("xinhua", datetime(2024, 6, 14, tzinfo=BEIJING)),
    "111": ("spp", datetime(2024, 7, 1, tzinfo=BEIJING)),
    "004": ("spp_tw", datetime(2024, 7, 10, tzinfo=BEIJING)),
}


def real_texts() -> dict[str, Path]:
    paths = [*(SHARED / "eval" / "real").glob("*.txt"), *(SHARED / "seeds").glob("*.txt")]
    return {path.name[:3]: path for path in paths}


def build_archive(store: Store, dates: dict[str, tuple[str, datetime]] = ARCHIVE, *, first_crawl: bool = False) -> None:
    """Each text observed the day it was published by a crawl after its source's first (so its names
    are news), or, with ``first_crawl``, all found by the sources' first crawls (the known baseline)."""
    texts = real_texts()
    for prefix, (source, published) in dates.items():
        if not first_crawl and store.sources.source_state(source) is None:
            store.sources.record_source_run(source, ok=True, at=datetime(2019, 1, 1, tzinfo=BEIJING))
        lines = texts[prefix].read_text("utf-8").strip().split("\n")
        article = ExtractedArticle(
            url=f"https://{source}.example.gov.cn/{prefix}.html",
            title=lines[0][:60],
            published_at=published,
            body_text="\n".join(lines[1:]),
            body_html="",
        )
        at = datetime.now(BEIJING) if first_crawl else published
        store.writer.record(source, article, fetched_at=at, mentions=RULES_ONLY.extract("\n".join(lines)))


def names(rows: list) -> list[str]:
    return [row.campaign.name for row in rows]


def test_names_taken_up_by_several_sources_since_a_date_emerge(sqlite_store: Store) -> None:
    build_archive(sqlite_store)
    recent = sqlite_store.campaigns.emerging(since=datetime(2024, 1, 1, tzinfo=BEIJING), min_sources=2)
    # 两个确立 and 两个维护 also recur, but were written before 2024: they are not new
    assert names(recent) == ["检察护企"]
    (row,) = recent
    assert [(s.source_id, a.url.split("/")[-1]) for s, a in row.sources] == [
        ("spp", "111.html"),
        ("spp_tw", "004.html"),
    ]
    wider = names(sqlite_store.campaigns.emerging(since=datetime(2021, 1, 1, tzinfo=BEIJING), min_sources=2))
    assert wider[0] == "两个维护"  # three sources, the most widely taken up first
    assert set(wider) == {"两个维护", "四大检察", "两个确立", "政法队伍教育整顿", "检察护企"}
    assert names(sqlite_store.campaigns.emerging(since=datetime(2021, 1, 1, tzinfo=BEIJING), min_sources=3)) == [
        "两个维护"
    ]
    # names one source uses (its own projects) never emerge
    assert "报案不理,压案不查" not in wider
    known = builtin_lexicon().kinds
    assert set(names(sqlite_store.campaigns.emerging(since=datetime(2021, 1, 1, tzinfo=BEIJING), exclude=known))) == {
        "两个维护",
        "四大检察",
        "两个确立",
    }


def test_names_found_by_the_first_crawls_do_not_emerge(sqlite_store: Store) -> None:
    build_archive(sqlite_store, first_crawl=True)  # 两个维护 in three sources, 检察护企 in two: all known
    assert sqlite_store.campaigns.emerging(since=datetime.now(BEIJING) - timedelta(days=1), min_sources=2) == []
    assert {"两个维护", "检察护企"} <= {c.name for c, _ in sqlite_store.campaigns.campaigns() if c.baseline}


def test_cli_emerging_mute_and_accept_into_the_users_lexicon(sqlite_store: Store, tmp_path: Path) -> None:
    build_archive(sqlite_store)
    db = str(sqlite_store.engine.url.database)
    lexicon = tmp_path / "mine.yaml"
    lexicon.write_text("# my terms\ncampaigns:\n  - 护航民企\n\nformulations:\n  - 两山理念\n", encoding="utf-8")
    base = ["--db", db, "--lexicon", str(lexicon)]

    def emerging() -> list[dict]:
        result = runner.invoke(app, ["campaigns", "emerging", "--since", "2021-01-01", "--json", *base])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    listed = emerging()
    assert [e["name"] for e in listed] == ["两个维护", "两个确立", "四大检察"]
    assert listed[0]["sources"][0] == {
        "source": "scjcy",
        "first_seen_at": "2021-09-01T00:00:00+08:00",
        "url": "https://scjcy.example.gov.cn/000.html",
    }
    assert runner.invoke(app, ["campaigns", "mute", "两个维护", "--db", db]).exit_code == 0
    accepted = runner.invoke(app, ["campaigns", "accept", "“四大检察”", *base])
    assert accepted.exit_code == 0 and f"added to {lexicon}" in accepted.output
    assert [e["name"] for e in emerging()] == ["两个确立"]
    text = lexicon.read_text("utf-8")
    assert text.startswith("# my terms\n") and '  - {name: "四大检察", since: 2021}' in text
    assert load_lexicon(lexicon).kind_of("四大检察") == "formulation"  # the file still parses, comments kept
    again = runner.invoke(app, ["campaigns", "accept", "四大检察", *base])
    assert again.exit_code == 0 and "already in" in again.output
    unknown = runner.invoke(app, ["campaigns", "mute", "不存在的运动", "--db", db])
    assert unknown.exit_code == 1 and "no campaign named" in unknown.output


def test_the_emerging_feed_lists_recent_names_with_their_spread(sqlite_store: Store, tmp_path: Path) -> None:
    now = datetime.now(BEIJING)
    build_archive(sqlite_store, {"002": ("zfw", now - timedelta(days=10)), "004": ("spp", now - timedelta(days=3))})
    config_file = tmp_path / "sources.yaml"
    config_file.write_text(
        "sources:\n"
        "  - {id: zfw, name: 甘肃政法网, adapter: generic, lists: ['https://zfw.example.gov.cn/'], schedule: {every: 1h}}\n"
        "  - {id: spp, name: 最高人民检察院, adapter: trs, lists: ['https://spp.example.gov.cn/'], schedule: {every: 1h}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "feeds"
    build_feeds(sqlite_store, feed_catalog(load_config(config_file)), out, base_url="http://127.0.0.1:8080")
    rss = (out / "emerging.xml").read_text("utf-8")
    assert "【兴起】两个确立(2 个来源)" in rss and "urn:procwatch:emerging:" in rss
    assert "甘肃政法网" in rss and "最高人民检察院" in rss and "https://zfw.example.gov.cn/002.html" in rss
    assert "检察护企" not in rss  # in the shipped lexicon: known, not emerging
    assert (out / "emerging.atom").exists()
