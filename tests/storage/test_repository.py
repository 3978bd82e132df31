"""Storage semantics, on SQLite and on PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from crawler.dates import BEIJING
from crawler.normalise import hash_text, matching_text
from storage import OutcomeKind, SchemaError, Store, make_engine
from storage.db import ensure_schema, head_revision, upgrade
from storage.models import ArticleStatus, EventKind
from storage.sources import Validators


@dataclass(frozen=True)
class Page:
    url: str
    title: str
    body_text: str
    body_html: str = "<p>x</p>"
    published_at: datetime | None = datetime(2024, 7, 9, 18, 30, tzinfo=BEIJING)
    source_label: str | None = "最高人民检察院"
    author: str | None = None
    encoding: str | None = "utf-8"
    content_hash: str = ""
    normalised_text: str = ""
    meta_published_at: datetime | None = None
    status: str = "ok"
    attachments: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "normalised_text", matching_text(self.title, self.body_text))
        object.__setattr__(self, "content_hash", hash_text(self.normalised_text))


URL = "https://www.spp.gov.cn/spp/xwfbh/202407/t20240709_660012.shtml"
PAGE = Page(URL, "最高检召开党组会", "7月9日,最高人民检察院召开党组会。\n会议还研究了其他事项。")


def edited(page: Page, body: str) -> Page:
    return replace(page, body_text=body)


def test_new_article_gets_version_one_and_a_publication_event(store: Store) -> None:
    outcome = store.writer.record("spp", PAGE)
    assert outcome.kind == OutcomeKind.new and outcome.version == 1
    found = store.history.get_article(URL)
    assert found is not None
    assert found.article.title == "最高检召开党组会"
    assert found.article.published_at == datetime(2024, 7, 9, 10, 30, tzinfo=BEIJING).replace(hour=18)
    assert found.article.published_at.utcoffset() is not None
    assert [v.version for v in found.versions] == [1]
    assert [e.kind for e, _ in store.history.events()] == [EventKind.published]


def test_a_version_keeps_the_meta_date_the_status_and_the_attachments(store: Store) -> None:
    meta = datetime(2023, 11, 10, 15, 33, tzinfo=BEIJING)
    files = ("https://www.spp.gov.cn/a.pdf", "https://www.spp.gov.cn/b.xlsx")
    store.writer.record("spp", replace(PAGE, meta_published_at=meta, status="attachment", attachments=files))
    (version,) = store.history.get_article(URL).versions
    assert version.meta_published_at == meta and version.status == "attachment"
    assert version.attachments.split("\n") == list(files)


def test_a_scraped_field_longer_than_its_column_is_cut_to_fit_not_fatal(store: Store) -> None:
    author = "作者:" + "某" * 3000  # a page that put its whole footer in the author line
    store.writer.record("spp", replace(PAGE, author=author, source_label="来源" * 400, encoding="x" * 100))
    (version,) = store.history.get_article(URL).versions
    assert len(version.author) == 512 and version.author.startswith("作者:某") and version.author.endswith("…")
    assert len(version.source_label) == 512 and len(version.encoding) == 32
    # a validator cut to fit could never be sent back as it came: it is not kept at all (a full GET then)
    store.writer.save_validators(URL, Validators('"' + "e" * 1000 + '"', "x" * 500, 200))
    assert store.sources.get_validators(URL) == Validators(None, None)


def test_recording_the_same_extraction_twice_is_idempotent(store: Store) -> None:
    first = store.writer.record("spp", PAGE)
    second = store.writer.record("spp", PAGE)
    assert second.kind == OutcomeKind.unchanged
    assert second.version_id == first.version_id
    assert store.counts()["versions"] == 1


def test_a_changed_body_adds_a_version_in_order_with_its_change_size(store: Store) -> None:
    store.writer.record("spp", PAGE)
    outcome = store.writer.record("spp", edited(PAGE, PAGE.body_text + "\n会议强调,要狠抓落实。"))
    assert outcome.kind == OutcomeKind.changed and outcome.version == 2
    store.writer.record("spp", edited(PAGE, "7月9日,最高检召开党组会。"))
    found = store.history.get_article(URL)
    assert found is not None
    assert [v.version for v in found.versions] == [1, 2, 3]
    assert found.versions[1].change_chars == len("\n会议强调,要狠抓落实。")
    assert found.article.version_count == 3
    assert found.article.content_hash == found.versions[-1].content_hash


def test_whitespace_and_script_differences_do_not_make_a_new_version(store: Store) -> None:
    store.writer.record("spp", PAGE)
    traditional = edited(PAGE, "7月9日,最高人民檢察院召開黨組會。\n\n  會議還研究了其他事項。 ")
    assert store.writer.record("spp", traditional).kind == OutcomeKind.unchanged


def test_same_content_at_another_url_is_a_republication_of_the_first(store: Store) -> None:
    store.writer.record("spp", PAGE)
    repost = replace(PAGE, url="http://www.gszf.gov.cn/c100007/2024-07/10/content_1.shtml")
    outcome = store.writer.record("gszf", repost)
    assert outcome.kind == OutcomeKind.duplicate and outcome.duplicate_of == URL
    assert store.writer.record("gszf", repost).kind == OutcomeKind.duplicate  # still, on the next crawl
    counts = store.counts()
    assert counts["articles"] == 1 and counts["republications"] == 1
    assert store.history.known_urls([repost.url, URL, "http://x/unknown"]) == {repost.url, URL}


def test_removal_and_restoration(store: Store) -> None:
    store.writer.record("spp", PAGE)
    assert store.writer.mark_removed(URL, reason="HTTP 404") is True
    assert store.writer.mark_removed(URL) is False  # already removed: no second event
    found = store.history.get_article(URL)
    assert found is not None and found.article.status == ArticleStatus.removed and found.article.removed_at
    outcome = store.writer.record("spp", PAGE)
    assert outcome.kind == OutcomeKind.unchanged and outcome.restored
    kinds = [e.kind for e, _ in store.history.events()]
    assert kinds == [EventKind.restored, EventKind.removed, EventKind.published]
    assert store.writer.mark_removed("https://unknown.example/x") is False


def test_latest_articles_newest_first_per_source(store: Store) -> None:
    for day in range(1, 6):
        source = "spp" if day % 2 else "xz-jcy"
        store.writer.record(
            source,
            Page(
                f"https://x.gov.cn/{day}",
                f"标题{day}",
                f"正文{day}很长的内容。",
                published_at=datetime(2024, 1, day, tzinfo=BEIJING),
            ),
        )
    assert [a.title for a in store.browse.latest_articles(3)] == ["标题5", "标题4", "标题3"]
    assert [a.title for a in store.browse.latest_articles(10, source_ids=["xz-jcy"])] == ["标题4", "标题2"]
    latest = store.history.current_versions([a.id for a in store.browse.latest_articles(10)])
    assert len(latest) == 5
    assert sorted(t.body_text for t in latest.values()) == [f"正文{day}很长的内容。" for day in range(1, 6)]


def test_validators_round_trip_and_304_keeps_them(store: Store) -> None:
    assert store.sources.get_validators(URL) is None
    store.writer.save_validators(URL, Validators('"abc"', "Tue, 09 Jul 2024 10:30:00 GMT", 200))
    store.writer.save_validators(URL, Validators(None, None, 304))
    validators = store.sources.get_validators(URL)
    assert validators is not None and validators.etag == '"abc"'


def test_source_state_counts_failures_and_resets_on_success(store: Store) -> None:
    store.sources.record_source_run("spp", ok=False, error="timeout")
    state = store.sources.record_source_run("spp", ok=False, error="HTTP 503")
    assert state.consecutive_failures == 2 and state.last_error == "HTTP 503"
    state = store.sources.record_source_run("spp", ok=True)
    assert state.consecutive_failures == 0 and state.last_error is None and state.last_success


def test_articles_due_follow_their_age(store: Store) -> None:
    published = PAGE.published_at  # 2024-07-09 18:30
    store.writer.record("spp", PAGE, fetched_at=published + timedelta(minutes=10))
    schedule = [
        (timedelta(hours=3), timedelta(minutes=15)),
        (timedelta(days=1), timedelta(hours=1)),
        (timedelta(days=7), None),
    ]
    due = lambda after: [a.url for a in store.history.articles_due(None, schedule, now=published + after)]  # noqa: E731
    assert due(timedelta(minutes=20)) == []  # checked 10 minutes ago
    assert due(timedelta(minutes=30)) == [URL]  # young: every 15 minutes
    assert due(timedelta(hours=5)) == [URL]  # under a day: hourly
    assert due(timedelta(days=3)) == []  # older bands are never re-checked in this schedule
    assert store.history.articles_due("xz-jcy", schedule, now=published + timedelta(minutes=30)) == []


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.writer.record("spp", replace(PAGE, published_at=datetime(2024, 7, 9)))
    assert store.counts()["articles"] == 0  # nothing half-written


def test_an_older_schema_is_reported_then_upgraded_keeping_the_data(store: Store) -> None:
    engine = store.engine
    with engine.begin() as connection:  # the search index is no model: dropped by name
        connection.execute(text("DROP TABLE IF EXISTS version_search"))
    SQLModel.metadata.drop_all(engine)  # back to the first schema, with an article in it
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO article (url, source_id, first_seen, last_seen, status, title, content_hash, version_count) "
                "VALUES ('https://x/1', 'spp', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'live', 't', 'h', 2)"
            )
        )
    with pytest.raises(
        SchemaError, match=rf"at revision 0001, this procwatch needs {head_revision()}: run 'procwatch db upgrade'"
    ):
        ensure_schema(engine)
    assert upgrade(engine) == ("0001", head_revision())
    ensure_schema(engine)
    found = store.history.get_article("https://x/1")
    assert found is not None and found.article.current_version == 2


def test_a_schema_from_a_newer_procwatch_is_refused(tmp_path) -> None:
    engine = make_engine(str(tmp_path / "new.sqlite3"))
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    with pytest.raises(SchemaError, match="revision ffff is newer than this procwatch knows"):
        ensure_schema(engine)


def test_a_foreign_database_is_not_touched(tmp_path) -> None:
    engine = make_engine(str(tmp_path / "foreign.sqlite3"))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id integer)"))
    with pytest.raises(SchemaError, match="not created by procwatch"):
        ensure_schema(engine)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_an_interrupted_first_creation_is_resumed_not_refused(tmp_path) -> None:
    engine = make_engine(str(tmp_path / "half.sqlite3"))
    upgrade(engine, "0001")  # what a kill during the very first start leaves behind: no data yet
    ensure_schema(engine)
    from storage.db import current_revision

    assert current_revision(engine) == head_revision()


def _first_start(url: str) -> str:
    from storage.db import current_revision

    engine = make_engine(url)
    ensure_schema(engine)
    return current_revision(engine) or ""


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_starting_at_once_on_a_new_database_create_the_schema_once(backend, tmp_path, request) -> None:
    from concurrent.futures import ProcessPoolExecutor

    if backend == "postgres":
        from tests.conftest import _reset_postgres

        url = request.getfixturevalue("postgres_url")
        _reset_postgres(url)  # a new, empty database
    else:
        url = str(tmp_path / "new.sqlite3")
    with ProcessPoolExecutor(4) as pool:
        revisions = list(pool.map(_first_start, [url] * 4))
    assert revisions == [head_revision()] * 4


def test_readers_never_wait_for_a_writer_on_sqlite(tmp_path) -> None:
    """The feed server reads while the crawler writes: reads begin deferred, never taking the write lock."""
    import threading

    engine = make_engine(str(tmp_path / "rw.sqlite3"))
    ensure_schema(engine)
    store = Store(engine)
    store.writer.record("spp", PAGE)
    holding, read_done = threading.Event(), threading.Event()

    def writer() -> None:
        with store.sources.transaction() as session:  # BEGIN IMMEDIATE: holds the write lock until commit
            session.exec(text("UPDATE article SET title = 'x' WHERE 1 = 0"))
            holding.set()
            read_done.wait(60)  # the lock is held until the reader is done (or a minute)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(10)
    try:
        assert [a.title for a in store.browse.latest_articles(10)] == ["最高检召开党组会"]  # would wait out the lock
    finally:
        read_done.set()
        thread.join(60)
