"""sources.yaml validation: every error names file, line and field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from crawler.config import Config, load_config, parse_config
from crawler.errors import ConfigError
from crawler.validate import check_config
from tests.support.cli import procwatch as run_cli

ROOT = Path(__file__).resolve().parents[2]

VALID = """\
sources:
  - id: spp
    name: 最高人民检察院
    adapter: trs
    lists:
      - https://www.spp.gov.cn/spp/xwfbh/index.shtml
    schedule: {every: 30m, jitter: 5m}
  - id: xz-jcy
    name: 西藏自治区人民检察院
    adapter: hanweb
    lists: [http://www.xz.jcy.gov.cn/dwjs/index.shtml]
    schedule: {cron: "*/20 8-22 * * *"}
    kind: procuratorate
    level: provincial
    region: 西藏
    tags: [tibet]
    encoding: gbk
    verify_tls: false
    robots: false
    selectors: {body: "#zoom", drop: [".share"]}
    enabled: false
"""


def checked(text: str, base: Path | None = None) -> Config:
    """Parse and check a sources file completely, as every command does (crawler.validate.load)."""
    config = parse_config(text, "sources.yaml", base=base)
    issues = check_config(config)
    if issues:
        raise ConfigError(issues)
    return config


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        checked(text)
    return str(info.value)


def test_valid_file_loads_with_defaults() -> None:
    config = parse_config(VALID)
    spp, xz = config.sources
    assert spp.schedule.every.total_seconds() == 1800 and spp.schedule.jitter.total_seconds() == 300
    assert spp.verify_tls and spp.robots and spp.enabled
    assert xz.schedule.cron == "*/20 8-22 * * *" and not xz.enabled
    assert xz.all_tags == ["tibet", "西藏", "procuratorate", "provincial"]
    assert [s.id for s in config.enabled_sources] == ["spp"]


def test_the_shipped_sources_file_is_valid() -> None:
    config = load_config(ROOT / "sources.yaml")
    ids = {s.id for s in config.sources}
    assert {"spp", "chinapeace", "sc-jcy", "xz-jcy", "gs-jcy", "gszf"} <= ids


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "every: 30m, jitter",
            "every: soon, jitter",
            "sources.yaml:7: sources[0].schedule.every: expected a duration like '30m', got 'soon'",
        ),
        (
            "jitter: 5m",
            "jitter: 5 parsecs",
            "sources.yaml:7: sources[0].schedule.jitter: expected a duration like '30m', got '5 parsecs'",
        ),
        (
            "{every: 30m, jitter: 5m}",
            "{jitter: 5m}",
            "sources.yaml:7: sources[0].schedule: give either 'every' (e.g. 30m) or 'cron'",
        ),
        (
            '"*/20 8-22 * * *"',
            '"every tuesday"',
            "sources.yaml:12: sources[1].schedule.cron: invalid cron expression 'every tuesday'",
        ),
        (
            "adapter: trs",
            "adapter: trz",
            "sources.yaml:4: sources[0].adapter: unknown adapter 'trz' (built in: feed, generic, hanweb, trs;",
        ),
        ("id: xz-jcy", "id: spp", "sources.yaml:8: sources[1].id: duplicate id 'spp' (already used by sources[0] in sources.yaml)"),
        (
            "id: spp",
            "id: SPP!",
            "sources.yaml:2: sources[0].id: expected a short lowercase id of a-z, 0-9, '-' and '_', got 'SPP!'",
        ),
        (
            "name: 最高人民检察院\n",
            "name: 最高人民检察院\n    colour: red\n",
            "sources.yaml:4: sources[0].colour: unknown key 'colour' (allowed: id, name, adapter, lists",
        ),
        (
            "      - https://www.spp.gov.cn/spp/xwfbh/index.shtml",
            "      - www.spp.gov.cn/spp/xwfbh/index.shtml",
            "sources.yaml:6: sources[0].lists[0]: expected an absolute http(s) URL, got 'www.spp.gov.cn/spp/xwfbh/index.shtml'",
        ),
        (
            "lists: [http://www.xz.jcy.gov.cn/dwjs/index.shtml]",
            "lists: []",
            "sources.yaml:11: sources[1].lists: list should have at least 1 item",
        ),
        (
            "kind: procuratorate",
            "kind: court",
            "sources.yaml:13: sources[1].kind: input should be 'procuratorate', 'political-legal' or 'media', got 'court'",
        ),
        ("level: provincial", "level: galactic", "sources.yaml:14: sources[1].level: input should be"),
        (
            "encoding: gbk",
            "encoding: klingon",
            "sources.yaml:17: sources[1].encoding: unknown character encoding 'klingon'",
        ),
        (
            "verify_tls: false",
            "verify_tls: perhaps",
            "sources.yaml:18: sources[1].verify_tls: input should be a valid boolean",
        ),
        (
            'body: "#zoom"',
            'bodyy: "#zoom"',
            "sources.yaml:20: sources[1].selectors.bodyy: unknown key 'bodyy' (allowed: links, title",
        ),
        ("tags: [tibet]", "tags: tibet", "sources.yaml:16: sources[1].tags: input should be a valid list"),
        ("    name: 西藏自治区人民检察院\n", "", "sources.yaml:8: sources[1].name: required field is missing"),
        ("sources:", "sauces:", "sources.yaml:1: sauces: unknown key 'sauces' (allowed: sources, settings"),
        ("    region: 西藏\n", "    region: 西藏\n    region: 藏\n", "sources.yaml:16: region: duplicate key"),
        ("schedule: {every", "schedule: {{every", "sources.yaml:8: invalid YAML: expected ',' or '}'"),
    ],
)
def test_each_kind_of_error_names_file_line_and_field(old: str, new: str, expected: str) -> None:
    assert old in VALID
    message = error_of(VALID.replace(old, new, 1))
    assert message.startswith(expected), message
    assert "\n" not in message  # one line


def test_settings_are_validated_too() -> None:
    message = error_of("settings:\n  concurrency: 0\nsources: []\n")
    assert message == "sources.yaml:2: settings.concurrency: input should be greater than or equal to 1, got 0"


def test_top_level_must_be_a_mapping() -> None:
    assert error_of("- a\n- b\n") == "sources.yaml:1: expected a mapping with a 'sources' list at the top"


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "gbk.yaml"
    bad.write_bytes("sources: []  # 最高人民检察院\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"gbk\.yaml: not UTF-8 text"):
        load_config(bad)


def test_environment_variable_names_the_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "elsewhere.yaml"
    path.write_text(VALID, encoding="utf-8")
    monkeypatch.setenv("PROCWATCH_CONFIG", str(path))
    assert [s.id for s in load_config().sources] == ["spp", "xz-jcy"]


def test_cli_reports_a_broken_file_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(VALID.replace("every: 30m, jitter", "every: soon, jitter"), encoding="utf-8")
    result = run_cli("sources", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{path}:7: sources[0].schedule.every: expected a duration like '30m', got 'soon'"
    assert "Traceback" not in result.stderr


def test_cli_lists_sources_as_table_and_json(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(VALID, encoding="utf-8")
    table = run_cli("sources", "--config", str(path))
    assert table.returncode == 0 and "spp" in table.stdout and "every 30m ±5m" in table.stdout
    import json

    data = json.loads(run_cli("sources", "--config", str(path), "--json").stdout)
    assert [d["id"] for d in data] == ["spp", "xz-jcy"]
    assert data[1]["schedule"] == {"every": None, "jitter": None, "cron": "*/20 8-22 * * *"}


SETTINGS = """\
settings:
  user_agent: "procwatch-test"
  concurrency: 4
  min_delay: 1s
  timeout: 20s
  max_bytes: 10000000
  max_redirects: 10
  retries: 3
  recheck:
    - {younger_than: 3h, every: 15m}
    - {younger_than: 365d, every: never}
sources:
  - id: spp
    name: 最高人民检察院
    adapter: trs
    lists: [https://www.spp.gov.cn/spp/xwfbh/index.shtml]
    schedule: {every: 30m}
    homepage: https://www.spp.gov.cn/
    region: 北京
    selectors: {links: "ul a", title: h1, published: .info, source_label: .source, author: .author}
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            'user_agent: "procwatch-test"',
            "user_agent: [a, b]",
            "sources.yaml:2: settings.user_agent: input should be a valid string",
        ),
        (
            "concurrency: 4",
            "concurrency: 1000",
            "sources.yaml:3: settings.concurrency: input should be less than or equal to 256, got 1000",
        ),
        (
            "min_delay: 1s",
            "min_delay: often",
            "sources.yaml:4: settings.min_delay: expected a duration like '30m', got 'often'",
        ),
        ("timeout: 20s", "timeout: -5s", "sources.yaml:5: settings.timeout: expected a duration like '30m', got '-5s'"),
        (
            "max_bytes: 10000000",
            "max_bytes: 12",
            "sources.yaml:6: settings.max_bytes: input should be greater than or equal to 1024, got 12",
        ),
        (
            "max_redirects: 10",
            "max_redirects: many",
            "sources.yaml:7: settings.max_redirects: input should be a valid integer",
        ),
        (
            "retries: 3",
            "retries: 99",
            "sources.yaml:8: settings.retries: input should be less than or equal to 10, got 99",
        ),
        (
            "every: 15m}",
            "every: 15 lunar cycles}",
            "sources.yaml:10: settings.recheck[0].every: expected a duration like '30m'",
        ),
        (
            "{younger_than: 365d, every: never}",
            "{every: 1d}",
            "sources.yaml:11: settings.recheck[1].younger_than: required field is missing",
        ),
        (
            "homepage: https://www.spp.gov.cn/",
            "homepage: spp.gov.cn",
            "sources.yaml:18: sources[0].homepage: expected an absolute http(s) URL",
        ),
        ("region: 北京", "region: [北京]", "sources.yaml:19: sources[0].region: input should be a valid string"),
        ("title: h1", "title: 1", "sources.yaml:20: sources[0].selectors.title: input should be a valid string"),
        (
            "author: .author}",
            "author: .author, drop: .x}",
            "sources.yaml:20: sources[0].selectors.drop: input should be a valid list",
        ),
        (
            "schedule: {every: 30m}",
            "schedule: 30m",
            "sources.yaml:17: sources[0].schedule: input should be a valid dictionary or instance of Schedule",
        ),
        (
            "schedule: {every: 30m}",
            "schedule: {cron: '0 8 * * *', jitter: 5m}",
            "sources.yaml:17: sources[0].schedule: 'jitter' goes with 'every'",
        ),
        (
            "    name: 最高人民检察院\n",
            "    name: ''\n",
            "sources.yaml:14: sources[0].name: string should have at least 1 character",
        ),
    ],
)
def test_every_settings_and_source_field_is_checked(old: str, new: str, expected: str) -> None:
    assert old in SETTINGS
    message = error_of(SETTINGS.replace(old, new, 1))
    assert message.startswith(expected), message
    assert "\n" not in message and "Traceback" not in message


def test_a_missing_lexicon_file_is_named(tmp_path: Path) -> None:
    message = error_of_at(tmp_path, "settings:\n  lexicon: nowhere.yaml\nsources: []\n")
    assert message.startswith("sources.yaml:2: settings.lexicon: ") and "nowhere.yaml" in message


def error_of_at(base: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        checked(text, base / "sources.yaml")
    return str(info.value)


def _alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\nsources: []\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_alias_bomb(9), "more than 200,000 values once aliases are expanded"),  # 9**10 values: never ended before
        ("sources:\n  - " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),  # was a RecursionError traceback
        ("x: " + "[" * 40 + "]" * 40 + "\nsources: []\n", "nested deeper than 32 levels"),
        ("# " + "x" * 1_500_000 + "\nsources: []\n", "1.5 million characters; a sources file is at most 1 million"),
    ],
)
def test_hostile_sources_files_are_refused_quickly_with_one_line(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)) as raised:
        load_config(path)  # before the bounds, the alias bomb never returned
    assert len(str(raised.value).splitlines()) == 1 and str(path) in str(raised.value)


def _one_line_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_control_characters_and_nul_are_one_line_naming_file_and_line(tmp_path) -> None:
    for bad in ("\x00", "\x07"):
        path = tmp_path / "sources.yaml"
        path.write_text(VALID.replace("最高人民检察院", f"最高人民{bad}检察院"), encoding="utf-8")
        message = _one_line_error(path)
        assert message.startswith(f"{path}:3: ") and "control character" in message, message
        # procwatch check says the same, without a traceback
        ran = run_cli("check", "--config", str(path))
        assert ran.returncode == 2 and f"{path}:3:" in ran.stderr and "Traceback" not in ran.stderr


def test_an_include_outside_the_config_directory_is_refused_in_one_line(tmp_path) -> None:
    for pattern in ("/etc/passwd", "/etc/*", "../*.yaml"):
        path = tmp_path / "conf" / "sources.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(f"include: ['{pattern}']\n" + VALID, encoding="utf-8")
        message = _one_line_error(path)
        assert message.startswith(f"{path}:1: include[0]: ") and "outside" in message, message


def test_includes_share_one_budget_of_characters_and_sources(tmp_path, monkeypatch) -> None:
    import crawler.config

    one = "sources:\n" + "".join(
        f"  - {{id: s{i}, name: 源, adapter: trs, lists: ['https://www.spp.gov.cn/{i}/'], schedule: {{every: 1h}}}}\n"
        for i in range(50)
    )
    part = tmp_path / "sources.d"
    part.mkdir()
    for n in range(4):
        (part / f"{n}.yaml").write_text(one.replace("id: s", f"id: p{n}-"), encoding="utf-8")
    path = tmp_path / "sources.yaml"
    path.write_text("include: ['sources.d/*.yaml']\n", encoding="utf-8")
    assert len(load_config(path).sources) == 200
    # each file is under the per-file cap, together they are over the total one
    monkeypatch.setattr(crawler.config, "MAX_CONFIG_CHARS", len(one) + 300)
    message = _one_line_error(path)
    assert message.startswith(str(part / "1.yaml")) and "all files together" in message, message
    monkeypatch.undo()
    monkeypatch.setattr(crawler.config, "MAX_SOURCES", 120)
    message = _one_line_error(path)
    assert message.startswith(str(part / "2.yaml")) and "more than 120 sources" in message, message
