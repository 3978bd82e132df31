"""Campaign extraction: rules, lexicon, CLI, the shared scorer, and storage of first mentions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.campaigns import CampaignExtractor, Lexicon, extract_campaigns, load_lexicon
from crawler.errors import ConfigError, LexiconError
from crawler.validate import load
from tests.support.cli import procwatch as cli

ROOT = Path(__file__).resolve().parents[3]
SHARED = ROOT.parent / "shared"
SCORER = SHARED / "eval" / "score_campaigns.py"
RULES_ONLY = CampaignExtractor(Lexicon())


def names(text: str, extractor: CampaignExtractor = RULES_ONLY) -> dict[str, str]:
    return {m.name: m.kind for m in extractor.extract(text)}


def test_quoted_terms_sharing_a_campaign_head() -> None:
    found = names("要认真落实“检察护企”“检护民生”专项行动推进会部署要求。")
    assert found == {"检察护企": "campaign", "检护民生": "campaign"}


def test_campaigns_in_no_lexicon_are_found_by_their_form() -> None:
    text = "全省开展“蓝盾护企”专项行动和“守护青山”公益诉讼专项监督活动,实施爱警暖心工程,推进“清风2025”集中整治。"
    assert names(text) == {
        "蓝盾护企": "campaign",
        "守护青山": "campaign",
        "爱警暖心工程": "campaign",
        "清风2025": "campaign",
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("深入推进政法队伍教育整顿。", "政法队伍教育整顿"),
        ("持续深化司法工作人员职务犯罪侦查百日攻坚等专项行动。", "司法工作人员职务犯罪侦查百日攻坚"),
        ("抓紧抓实检察机关党纪学习教育,", "党纪学习教育"),
        ("推进教育整顿与党史学习教育、接受巡视", "党史学习教育"),
        ("以“质量建设年”为抓手", "质量建设年"),
    ],
)
def test_left_boundaries_of_unquoted_names(text: str, expected: str) -> None:
    assert expected in names(text)


def test_bare_heads_are_not_campaigns_but_abbreviations_merge() -> None:
    assert names("深入开展常态化长效化的学习教育,主动开展类案监督和专项监督。") == {}
    found = RULES_ONLY.extract("深入推进政法队伍教育整顿。巩固第一批教育整顿成果,扎实推进第二批教育整顿。")
    assert [(m.name, m.count) for m in found] == [("政法队伍教育整顿", 3)]


def test_numbered_formulations_and_suggestions() -> None:
    text = "增强“四个意识”、坚定“四个自信”、做到“两个维护”,履行“一岗双责”,落实“双赢多赢共赢”理念,打好三大攻坚战,落实“一号检察建议”。"
    assert names(text) == {
        "四个意识": "formulation",
        "四个自信": "formulation",
        "两个维护": "formulation",
        "一岗双责": "formulation",
        "双赢多赢共赢": "formulation",
        "三大攻坚战": "formulation",
        "一号检察建议": "campaign",
    }


@pytest.mark.parametrize(
    "text",
    [
        "确保案件“清仓”,不留“挂案”。",
        "质量是“晴雨表”,整改是“风向标”。",
        "打破“一亩三分地”的思维定式,不搞“一刀切”。",
        "学习贯彻“七一”重要讲话精神",
        "做好巡视“后半篇文章”",
        "“典型案例一定要有典型性。”会议指出",
        "“小雏菊”“春泥”未检工作室",
        "以“联”代训,在“实”“干”上突显成效",
        "改变“各自为政、单兵作战”的模式",
        "这是一项系统工程",
    ],
)
def test_ordinary_quoted_words_metaphors_and_sentences_are_not_campaigns(text: str) -> None:
    assert names(text) == {}


def test_traditional_and_annotated_variants_merge_into_one_campaign() -> None:
    found = extract_campaigns("要認真落實“檢察護企”專項行動。“检察护企”专项行动成效明显,持續推進檢察護企(hù qǐ)工作。")
    assert [(m.name, m.kind, m.count) for m in found] == [("检察护企", "campaign", 3)]
    assert found[0].contexts[0].startswith("要认真落实“检察护企”专项行动")


# The names below are made up in the shape of real ones: the rules must work on names never seen.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("确保清源护民专项行动取得实效。", "清源护民专项行动"),
        ("传达学习全省清源护民专项行动推进会精神。", "清源护民专项行动"),
        ("安排部署2020年全市检察机关清源护民专项行动。", "清源护民专项行动"),
        ("通报检察队伍作风建设专项整治开展情况。", "检察队伍作风建设专项整治"),
        ("持续深化涉企职务犯罪侦查百日攻坚。", "涉企职务犯罪侦查百日攻坚"),
        ("决战决胜清源护民“大会战”。", "清源护民大会战"),
        ("开展违规“减免缓”专项监督活动。", "违规减免缓专项监督活动"),
        # 这是 is no dictionary word: the segmenter joins it, the pronoun still ends the name
        ("这是临川法院清源护民专项行动的第三年。", "临川法院清源护民专项行动"),
    ],
)
def test_left_boundaries_by_form(text: str, expected: str) -> None:
    assert names(text) == {expected: "campaign"}


@pytest.mark.parametrize(
    "text",
    [
        "最高检下发专项行动工作方案。",
        "进一步明确专项行动重点工作方向。",
        "该专项行动取得明显成效,此次专项整治为期半年。",
        "县委书记、县专项整治领导小组组长出席。",
        "把专项行动作为“一把手工程”,坚持“一盘棋”统筹。",
        "坚定不移与黑恶势力斗争到底,进行伟大斗争,这是一项系统工程。",
    ],
)
def test_references_metaphors_and_common_nouns_are_not_names(text: str) -> None:
    assert names(text) == {}


def test_long_and_punctuated_names_are_accepted_when_a_head_confirms_them() -> None:
    assert names("推出“不作为,乱作为”专项监督活动项目。") == {"不作为,乱作为": "campaign"}
    long_name = "依法支持起诉和开展劳动争议实质性化解助力外来务工人员讨薪专项行动"
    assert names(f"即“{long_name}”项目。") == {long_name: "campaign"}
    assert names("他说“不作为,乱作为,必须整改”。") == {}  # a quoted sentence without a head


def test_traditional_and_pinyin_annotated_text_gives_the_same_names() -> None:
    simplified = names("为深入推进清源护民专项行动,召开推进会。")
    assert names("為深入推進清源護(hù)民專項行動,召開推進會。") == simplified == {"清源护民专项行动": "campaign"}


def test_lexicon_slogans_are_found_unquoted_concepts_only_quoted() -> None:
    found = names("坚决破网打伞、打财断血,深化诉源治理。", CampaignExtractor())
    assert found == {"破网打伞": "formulation", "打财断血": "formulation"}
    assert names("深化“诉源治理”。", CampaignExtractor()) == {"诉源治理": "formulation"}


def test_every_shipped_lexicon_entry_is_a_mapping_with_its_year() -> None:
    from importlib.resources import files

    import yaml

    data = yaml.safe_load((files("crawler.campaigns") / "lexicon.yaml").read_text("utf-8"))
    entries = [e for kind in data.values() for e in kind]
    assert entries and all(isinstance(e, dict) and e["name"] for e in entries)
    assert sum("since" in e for e in entries) >= len(entries) - 1  # the year where known


def test_lexicon_entries_are_validated_with_their_place(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text("campaigns:\n  - {name: 护航民企, since: soon}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"mine\.yaml: campaigns\[0\]: since: expected a year"):
        load_lexicon(bad)
    bad.write_text("campaigns:\n  - {name: 护航民企, year: 2020}\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"campaigns\[0\]: unknown key 'year'"):
        load_lexicon(bad)


def test_the_lexicon_adds_formulations_whose_form_says_nothing() -> None:
    text = "心怀“国之大者”,坚持“查改治建”一体推进。"
    assert names(text) == {}
    assert names(text, CampaignExtractor()) == {"国之大者": "formulation", "查改治建": "formulation"}


def test_user_lexicon_extends_and_bad_lexicons_are_named(tmp_path: Path) -> None:
    extra = tmp_path / "mine.yaml"
    extra.write_text("formulations: [“三个善于”, 两山理念]\ncampaigns: [护航民企]\n", encoding="utf-8")
    lexicon = load_lexicon(extra)
    assert lexicon.kind_of("护航民企") == "campaign" and lexicon.kind_of("国之大者") == "formulation"
    extra.write_text("campaigns: 护航民企\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=r"mine\.yaml: campaigns: expected a list of names"):
        load_lexicon(extra)
    with pytest.raises(
        ConfigError, match=r"sources\.yaml:2: settings\.lexicon: .*mine\.yaml: campaigns: expected a list"
    ):
        (tmp_path / "sources.yaml").write_text("settings:\n  lexicon: mine.yaml\nsources: []\n", encoding="utf-8")
        load(tmp_path / "sources.yaml")  # the check every command makes


def test_cli_extract_reads_html_in_any_encoding(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    html = '<html><head><meta charset="utf-8"><title>通报_最高人民检察院</title></head><body><div id="zoom">'
    html += "<p>最高检通报“检察护企”专项行动开展情况,要求增强“四个意识”。</p></div></body></html>"
    page.write_bytes(html.encode("gbk"))
    result = cli("campaigns", "extract", "--json", str(page))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert [(d["name"], d["kind"], d["count"]) for d in data] == [
        ("检察护企", "campaign", 1),
        ("四个意识", "formulation", 1),
    ]
    assert all(d["contexts"] for d in data)


@pytest.mark.skipif(not SCORER.exists(), reason=f"shared scorer not found at {SCORER}")
@pytest.mark.parametrize(
    "labels",
    [
        [],  # the shared sample documents (the scorer's defaults)
        ["--labels", str(SHARED / "eval" / "real" / "labels.yaml"), "--docs", str(SHARED / "eval" / "real")],
    ],
    ids=["samples", "real"],
)
def test_shared_scorer_reaches_the_quality_target(labels: list[str]) -> None:
    """The README's commands: python ../shared/eval/score_campaigns.py [--labels --docs] -- procwatch campaigns extract --json"""
    command = [sys.executable, str(SCORER), *labels, "--min-precision", "0.95", "--min-recall", "0.95", "--"]
    command += [sys.executable, "-m", "crawler", "campaigns", "extract", "--json"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    precision = float(summary.split("precision=")[1].split()[0])
    recall = float(summary.split("recall=")[1].split()[0])
    assert precision >= 0.95 and recall >= 0.95, summary


def test_cli_list_and_show_the_spread(mirror, tmp_path: Path) -> None:
    config, db = str(mirror.write_config(tmp_path / "sources.yaml")), str(tmp_path / "c.sqlite3")
    for source in ("spp", "scjcy"):
        assert cli("fetch", source, "--backfill", "3", "--config", config, "--db", db).returncode == 0
    # a backfill fills the archive: what it finds was known at start, listed but never announced as new
    assert json.loads(cli("campaigns", "list", "--db", db, "--new-since", "2024-01-01", "--json").stdout) == []
    listed = json.loads(cli("campaigns", "list", "--db", db, "--json").stdout)
    names = {c["name"]: c for c in listed}
    assert names["检察护企"]["first_source"] == "spp" and names["检察护企"]["known_at_start"] is True
    assert names["检察护企"]["first_published_at"] == "2024-03-26T10:00:00+08:00"
    assert names["一号检察建议"]["first_published_at"].startswith("2023-11-13")
    shown = json.loads(cli("campaigns", "show", "“檢察護企”", "--db", db, "--json").stdout)
    assert [(s["source"], s["first_published_at"][:10]) for s in shown["spread"]] == [
        ("spp", "2024-03-26"),
        ("scjcy", "2024-07-10"),
    ]
    bad = cli("campaigns", "list", "--db", db, "--new-since", "soon")
    assert bad.returncode == 2 and "--new-since: expected a date like 2024-07-01, got 'soon'" in bad.stderr
    assert cli("campaigns", "show", "不存在的运动", "--db", db).returncode == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"  \n\t\n", "empty file"),
        (bytes(range(256)) * 20, "binary data (NUL bytes)"),
        (bytes(range(128, 256)) * 40, "not text in any encoding"),
        ("深入开展“检察护企”专项行动。".encode() * 1000, "larger than 10,000 bytes"),
    ],
    ids=["empty", "blank", "binary", "undecodable", "too-large"],
)
def test_cli_extract_refuses_what_is_not_a_document_in_one_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.bin"
    path.write_bytes(content)
    result = cli("campaigns", "extract", str(path), "--max-bytes", "10000")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(path) in result.stderr


def test_cli_extract_reads_utf16_with_its_bom(tmp_path: Path) -> None:
    path = tmp_path / "utf16.txt"
    path.write_bytes("深入开展“检察护企”专项行动。".encode("utf-16"))  # NUL bytes, but text: the BOM says so
    result = cli("campaigns", "extract", str(path), "--json")
    assert result.returncode == 0 and "检察护企" in result.stdout, result.stderr


def test_a_campaign_first_seen_through_todays_edit_of_an_old_article_is_new_today(mirror, tmp_path: Path) -> None:
    from datetime import datetime

    from crawler.dates import BEIJING

    config, db = str(mirror.write_config(tmp_path / "sources.yaml")), str(tmp_path / "e.sqlite3")
    assert cli("fetch", "spp", "--config", config, "--db", db).returncode == 0  # the first crawl: the baseline
    today = datetime.now(BEIJING).date().isoformat()
    assert json.loads(cli("campaigns", "list", "--db", db, "--new-since", today, "--json").stdout) == []
    known = json.loads(cli("campaigns", "list", "--db", db, "--json").stdout)
    assert known and all(c["known_at_start"] for c in known)

    body = mirror.article("spp", 1).body  # published 2024-03-26
    mirror.edit("spp", 1, body=body + "\n会议要求深入开展“数字检察赋能”专项行动。")
    assert cli("fetch", "spp", "--config", config, "--db", db).returncode == 0
    listed = json.loads(cli("campaigns", "list", "--db", db, "--new-since", today, "--json").stdout)
    assert [(c["name"], c["known_at_start"]) for c in listed] == [("数字检察赋能", False)]
    assert listed[0]["first_seen_at"].startswith(today) and listed[0]["first_published_at"].startswith("2024-03-26")
    shown = json.loads(cli("campaigns", "show", "数字检察赋能", "--db", db, "--json").stdout)
    assert shown["first_seen_at"].startswith(today) and shown["spread"][0]["first_published_at"].startswith(
        "2024-03-26"
    )
