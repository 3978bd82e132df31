"""The composition root: adapters from outside the package, retryable failures, reload, and the
rule that nothing else builds a fetcher or a crawl."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest
import respx

from crawler.errors import ConfigError, RetryableCrawlError
from crawler.runtime import Runtime, load
from storage import Store
from tests.conftest import runtime_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "tests" / "fixtures" / "adapters"
PAGE = (ROOT / "tests" / "fixtures" / "pages" / "spp_trs.html").read_bytes()
LIST = "https://www.example.jcy.gov.cn/api/list?channel=jcyw"
ARTICLE = "https://www.example.jcy.gov.cn/jcyw/202401/t20240115_1234.shtml"


def sources_yaml(directory: Path, adapter: str, lists: str = LIST) -> Path:
    path = directory / "sources.yaml"
    path.write_text(
        "sources:\n"
        f"  - {{id: example, name: 示例检察院, adapter: '{adapter}', lists: ['{lists}'], schedule: {{every: 1h}}}}\n",
        encoding="utf-8",
    )
    return path


def fetch_example(config_path: Path, store: Store) -> dict[str, int]:
    config = load(config_path)
    listing = {"data": [{"title": "示例文章", "url": "/jcyw/202401/t20240115_1234.shtml", "time": "2024-01-15"}]}

    async def main() -> dict[str, int]:
        with respx.mock(assert_all_called=False) as router:
            router.get(url__regex=r"/robots\.txt$").respond(404)
            router.get(LIST).respond(200, json=listing)
            router.get(ARTICLE).respond(200, content=PAGE, headers={"Content-Type": "text/html; charset=utf-8"})
            async with runtime_for(config, store) as runtime:
                return (await runtime.fetch(config.get("example"))).summary()

    return asyncio.run(main())


def test_an_adapter_named_by_import_path_loads_from_beside_sources_yaml(tmp_path: Path, sqlite_store: Store) -> None:
    shutil.copytree(EXAMPLES / "procwatch_example_sites", tmp_path / "procwatch_example_sites")
    config = sources_yaml(tmp_path, "procwatch_example_sites.json_list:JsonListAdapter")
    assert fetch_example(config, sqlite_store)["new"] == 1  # the JSON list was read by the user's class
    assert sqlite_store.history.get_article(ARTICLE) is not None


def test_an_adapter_registered_as_an_entry_point_loads_by_its_short_name(
    tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    shutil.copytree(EXAMPLES / "procwatch_example_sites", site / "procwatch_example_sites")
    info = site / "procwatch_example_sites-1.0.dist-info"  # what `pip install` of the package leaves
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: procwatch-example-sites\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[procwatch.adapters]\njson-list = procwatch_example_sites.json_list:JsonListAdapter\n"
    )
    monkeypatch.syspath_prepend(str(site))
    elsewhere = tmp_path / "config"  # nothing beside sources.yaml: only the installed package can answer
    elsewhere.mkdir()
    config = sources_yaml(elsewhere, "json-list")
    assert fetch_example(config, sqlite_store)["new"] == 1


@pytest.mark.parametrize(
    ("adapter", "reason"),
    [
        ("nosuch_pkg.sites:Adapter", "cannot import 'nosuch_pkg.sites': ModuleNotFoundError"),
        ("procwatch_example_sites.json_list:Missing", "module 'procwatch_example_sites.json_list' has no 'Missing'"),
        ("procwatch_example_sites.json_list:json", "not a subclass of crawler.adapters.Adapter"),
        ("no-such-name", "unknown adapter 'no-such-name' (built in: feed, generic, hanweb, trs;"),
    ],
)
def test_an_adapter_that_does_not_resolve_is_one_line_naming_file_and_line(
    tmp_path: Path, adapter: str, reason: str
) -> None:
    shutil.copytree(EXAMPLES / "procwatch_example_sites", tmp_path / "procwatch_example_sites")
    with pytest.raises(ConfigError) as raised:
        load(sources_yaml(tmp_path, adapter))
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'sources.yaml'}:2: sources[0].adapter: ") and reason in message
    assert "\n" not in message


def test_a_failure_a_retry_can_fix_is_raised_for_the_cluster_and_others_are_not(
    tmp_path: Path, sqlite_store: Store
) -> None:
    config = load(sources_yaml(tmp_path, "trs", "https://www.example.jcy.gov.cn/jcyw/index.shtml"))

    async def crawl(status: int) -> object:
        with respx.mock(assert_all_called=False) as router:
            router.get(url__regex=r"/robots\.txt$").respond(404)
            router.get("https://www.example.jcy.gov.cn/jcyw/index.shtml").respond(status)
            async with runtime_for(config, sqlite_store, retries=0) as runtime:
                return await runtime.crawl("example", respect_backoff=False, raise_retryable=True)

    with pytest.raises(RetryableCrawlError, match="HTTP 503"):
        asyncio.run(crawl(503))  # procrastinate retries this job
    report = asyncio.run(crawl(404))  # a missing list page will not come back on a retry
    assert report is not None and not report.ok
    state = sqlite_store.sources.source_state("example")
    assert state.consecutive_failures == 2  # both failures are on the source's record either way


def test_reload_rebuilds_the_fetcher_only_when_its_settings_change(tmp_path: Path, sqlite_store: Store) -> None:
    path = sources_yaml(tmp_path, "trs")
    first = load(path)
    path.write_text(path.read_text().replace("schedule: {every: 1h}", "schedule: {every: 2h}"))
    same_settings = load(path)
    path.write_text("settings: {user_agent: procwatch-test/2, min_delay: 3s}\n" + path.read_text())
    new_settings = load(path)

    async def main() -> None:
        async with Runtime(first, sqlite_store) as runtime:
            fetcher = runtime.fetcher
            changes = await runtime.reload(same_settings)
            assert changes.changed == ["example"] and not changes.settings and runtime.fetcher is fetcher
            changes = await runtime.reload(new_settings)
            assert changes.settings == ["user_agent", "min_delay"]
            assert runtime.fetcher is not fetcher and runtime.fetcher.user_agent == "procwatch-test/2"
            assert runtime.fetcher.min_delay == 3 and "settings changed: user_agent, min_delay" in str(changes)

    asyncio.run(main())


def test_nothing_but_the_runtime_builds_a_fetcher_or_a_crawl() -> None:
    builds = re.compile(r"\b(?:Fetcher(?:\.from_settings)?|Crawl)\(")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("crawler", "storage", "feeds", "bench")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() != "crawler/runtime.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if builds.search(line) and not line.lstrip().startswith(("class ", "def ", "#"))
    ]
    assert offenders == []


def test_the_documented_example_is_the_one_the_tests_load() -> None:
    doc = (ROOT / "docs" / "adapters.md").read_text(encoding="utf-8")
    source = (EXAMPLES / "procwatch_example_sites" / "json_list.py").read_text(encoding="utf-8")
    body = source[source.index("class JsonListAdapter") :].strip()
    assert body in doc


def test_a_new_module_in_the_adapters_package_needs_only_its_register_line(
    tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as a contributor adds crawler/adapters/mysite.py with @register("mysite"): no second map to edit
    import crawler.adapters

    example = (EXAMPLES / "procwatch_example_sites" / "json_list.py").read_text(encoding="utf-8")
    module = example.replace(
        "from crawler.adapters import Adapter, ListPage", "from crawler.adapters import Adapter, ListPage, register"
    )
    module = module.replace("class JsonListAdapter(Adapter):", '@register("mysite")\nclass JsonListAdapter(Adapter):')
    package = tmp_path / "package"
    package.mkdir()
    (package / "procwatch_mysite.py").write_text(module, encoding="utf-8")
    monkeypatch.setattr(crawler.adapters, "__path__", [*crawler.adapters.__path__, str(package)])
    assert crawler.adapters.builtin()["mysite"] == "crawler.adapters.procwatch_mysite"
    assert fetch_example(sources_yaml(tmp_path, "mysite"), sqlite_store)["new"] == 1


def test_the_fetcher_keeps_a_client_for_every_configured_host(tmp_path: Path, sqlite_store: Store) -> None:
    """1,000 portals' connections kept between cycles (a fixed bound of 256 reconnected to most of them
    every cycle); a reload that adds sources raises the bound without a new fetcher."""
    from crawler.fetch import MAX_HOST_CLIENTS

    def portals(count: int) -> Path:
        path = tmp_path / "sources.yaml"
        path.write_text(
            "sources:\n"
            + "".join(
                f"  - {{id: p{i}, name: p{i}, adapter: trs, lists: ['https://p{i}.example.gov.cn/list/'],"
                f" hosts: ['cdn{i}.example.gov.cn'], schedule: {{every: 1h}}}}\n"
                for i in range(count)
            ),
            encoding="utf-8",
        )
        return path

    few, many = load(portals(10)), load(portals(1000))

    async def main() -> tuple[int, int]:
        async with Runtime(few, sqlite_store) as runtime:
            fetcher = runtime.fetcher
            small = fetcher.max_clients
            await runtime.reload(many)
            assert runtime.fetcher is fetcher
            return small, fetcher.max_clients

    small, large = asyncio.run(main())
    assert small == MAX_HOST_CLIENTS and large >= 2000  # a list host and a further host for each portal
