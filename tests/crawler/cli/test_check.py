"""``procwatch check``: a verdict per source, from local servers that behave as portals do; the shipped
sources; ``sources`` filters and included source files."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from crawler.config import load_config
from crawler.demo.server import Page, StaticServer
from crawler.errors import ConfigError
from tests.support.cli import procwatch

ROOT = Path(__file__).resolve().parents[3]
ARTICLE = (
    '<html><head><meta charset="utf-8"><meta name="ArticleTitle" content="最高检发布典型案例">'
    '<meta name="PubDate" content="2026-11-20 10:00"></head><body><div class="TRS_Editor">'
    "<p>最高人民检察院今天发布第三批涉企典型案例,要求各级检察机关依法保护民营企业合法权益。</p>"
    "<p>会议强调,要深入开展“检察护企”专项行动,持续优化法治化营商环境。</p></div></body></html>"
)
LIST = '<html><body><ul><li><a href="/spp/202611/t20261120_700001.shtml">最高检发布典型案例</a> 2026-11-20</li></ul></body></html>'
EMPTY_ARTICLE = '<html><head><meta charset="utf-8"><title></title></head><body><div class="TRS_Editor"></div></body></html>'
CHALLENGE = "<html><script>var _0x=['cookie'];document.cookie='x=1';location.reload();</script></html>"


def source(id: str, url: str) -> str:
    return (
        f"  - {{id: {id}, name: {id}, adapter: trs, lists: ['{url}'], schedule: {{every: 1h}}, "
        "allow_private: true, robots: false}\n"
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def portals(tmp_path: Path):
    pages = {
        "/ok/index.shtml": Page(LIST.encode()),
        "/spp/202611/t20261120_700001.shtml": Page(ARTICLE.encode()),
        "/nolinks/index.shtml": Page(b"<html><body><p>\xe6\x9a\x82\xe6\x97\xa0\xe5\x86\x85\xe5\xae\xb9</p></body></html>"),
        "/blocked/index.shtml": Page(CHALLENGE.encode(), status=412),
        "/empty/index.shtml": Page(LIST.replace("/spp/", "/emptyart/").encode()),
        "/emptyart/202611/t20261120_700001.shtml": Page(EMPTY_ARTICLE.encode()),
    }
    with StaticServer(pages) as server:
        base = server.url("/")[:-1]
        https = base.replace("http://", "https://")
        config = tmp_path / "sources.yaml"
        config.write_text(
            "settings: {min_delay: 0s, retries: 0, timeout: 5s}\nsources:\n"
            + source("good", f"{base}/ok/index.shtml")
            + source("bare", f"{base}/nolinks/index.shtml")
            + source("walled", f"{base}/blocked/index.shtml")
            + source("down", f"http://127.0.0.1:{closed_port()}/index.shtml")
            + source("badtls", f"{https}/ok/index.shtml")
            + source("hollow", f"{base}/empty/index.shtml"),
            encoding="utf-8",
        )
        yield config


def test_every_verdict_from_portals_that_behave_that_way(portals) -> None:
    result = procwatch("check", "--config", str(portals), "--json")
    assert result.returncode == 1  # some source is not ok
    verdicts = {r["source"]: r for r in json.loads(result.stdout)}
    assert {k: v["verdict"] for k, v in verdicts.items()} == {
        "good": "ok",
        "bare": "no links",
        "walled": "blocked",
        "down": "unreachable",
        "badtls": "TLS",
        "hollow": "extraction empty",
    }
    good = verdicts["good"]
    assert good["links"] == 1 and good["title"] == "最高检发布典型案例" and good["body_chars"] > 50
    assert good["published"].startswith("2026-11-20")
    assert all(len(r["detail"].splitlines()) <= 1 for r in verdicts.values())


def test_one_source_ok_exits_0_with_a_table_and_unknown_ids_are_usage_errors(portals) -> None:
    result = procwatch("check", "good", "--config", str(portals))
    assert result.returncode == 0 and "ok" in result.stdout and "最高检发布典型案例" in result.stdout
    unknown = procwatch("check", "nope", "--config", str(portals))
    assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr


def test_the_shipped_sources_cover_every_province_and_validate() -> None:
    config = load_config(ROOT / "sources.yaml")
    assert len(config.sources) >= 60
    procuratorates = {s.region for s in config.sources if str(s.kind) == "procuratorate" and s.region}
    assert len(procuratorates) == 32  # 31 provinces and the 兵团
    assert len({s.region for s in config.sources if str(s.kind) == "political-legal"}) >= 31
    assert {"spp", "chinapeace", "jcrb"} <= {s.id for s in config.sources}
    assert all(s.enabled for s in config.sources)
    behind_challenges = [s.id for s in config.sources if s.fetch != "plain"]
    assert behind_challenges == ["bj-jcy"]  # the one portal known to answer plain clients with a challenge
    files = sorted(p.name for p in (ROOT / "sources.d").glob("*.yaml"))
    for name in files:  # every source line says where its URL came from
        text = (ROOT / "sources.d" / name).read_text("utf-8")
        assert text.startswith("#"), name


def test_sources_filters(tmp_path) -> None:
    listed = procwatch("sources", "--config", str(ROOT / "sources.yaml"), "--tag", "四川", "--json")
    assert sorted(s["id"] for s in json.loads(listed.stdout)) == ["sc-jcy", "sc-zfw"]
    national = procwatch("sources", "--config", str(ROOT / "sources.yaml"), "--level", "national", "--json")
    assert {s["id"] for s in json.loads(national.stdout)} == {"spp", "chinapeace", "jcrb"}
    legal = procwatch("sources", "--config", str(ROOT / "sources.yaml"), "--kind", "political-legal", "--json")
    assert all(s["kind"] == "political-legal" for s in json.loads(legal.stdout))
    none = procwatch("sources", "--config", str(ROOT / "sources.yaml"), "--tag", "火星")
    assert none.returncode == 2 and "no configured source has tag '火星'" in none.stderr


def test_included_files_add_sources_and_their_errors_name_their_own_file_and_line(tmp_path) -> None:
    (tmp_path / "sources.d").mkdir()
    (tmp_path / "sources.yaml").write_text("include: [sources.d/*.yaml]\nsources:\n" + source("a", "http://a.example/"))
    (tmp_path / "sources.d" / "mine.yaml").write_text("sources:\n" + source("b", "http://b.example/"))
    assert [s.id for s in load_config(tmp_path / "sources.yaml").sources] == ["a", "b"]
    (tmp_path / "sources.d" / "zz.yaml").write_text("sources:\n" + source("a", "http://c.example/"))
    with pytest.raises(ConfigError) as duplicate:
        load_config(tmp_path / "sources.yaml")
    assert str(duplicate.value).startswith(f"{tmp_path / 'sources.d' / 'zz.yaml'}:2: sources[0].id: duplicate id 'a'")
    (tmp_path / "sources.d" / "zz.yaml").write_text("settings: {concurrency: 2}\nsources: []\n")
    with pytest.raises(ConfigError) as settings:
        load_config(tmp_path / "sources.yaml")
    assert "zz.yaml:1: settings: an included file holds 'sources:' only" in str(settings.value)
    (tmp_path / "sources.yaml").write_text("include: [missing.yaml]\n")
    with pytest.raises(ConfigError, match=r"missing\.yaml: file not found"):
        load_config(tmp_path / "sources.yaml")
