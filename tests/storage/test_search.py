"""Full-text search over every version, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from crawler.dates import BEIJING
from storage import Store
from storage.search_terms import QueryError, document_tokens, fts5_match, parse, term, tsquery
from tests.storage.test_repository import Page

BODY = "最高人民检察院召开党组会，传达学习全国政法工作会议精神，部署开展“检察护企”专项行动。"
URL = "https://www.spp.gov.cn/spp/xwfbh/202407/t20240709_{}.shtml"


def page(n: int, body: str, title: str = "最高检召开党组会", day: int = 9) -> Page:
    return Page(URL.format(n), f"{title}{n}", body, published_at=datetime(2024, 7, day, 9, tzinfo=BEIJING))


def every_page(store: Store, query: str, limit: int) -> list[str]:
    """The URLs of all pages of a search, following next_cursor."""
    seen, before = [], None
    for _ in range(50):
        result = store.search.search(query, limit=limit, before=before)
        seen += [hit.article.url for hit in result.hits]
        if result.next_cursor is None:
            return seen
        before = result.next_cursor
    raise AssertionError("the pages never ended")


def urls(store: Store, query: str, **options) -> list[str]:
    return [hit.article.url for hit in store.search.search(query, **options).hits]


def test_a_word_in_the_body_is_found_and_one_that_is_not_there_is_not(store: Store) -> None:
    store.writer.record("spp", page(1, BODY))
    store.writer.record("spp", page(2, "甘肃省检察院召开新闻发布会。"))
    assert urls(store, "政法工作会议") == [URL.format(1)]
    assert urls(store, "检察院") == [URL.format(2), URL.format(1)]  # newest first
    assert urls(store, "监察委员会") == []
    (hit,) = store.search.search("检察护企").hits
    assert hit.snippet is not None and hit.snippet[1] == "检察护企" and "专项行动" in hit.snippet[2]


def test_a_sentence_removed_by_an_edit_is_found_in_the_versions_that_had_it(store: Store) -> None:
    store.writer.record("spp", page(1, BODY + "\n会议要求严厉打击涉企违法犯罪。"))
    store.writer.record("spp", page(1, BODY + "\n会议要求严厉打击涉企违法犯罪。补充。"))
    store.writer.record("spp", page(1, BODY))  # the sentence is gone from version 3
    (hit,) = store.search.search("严厉打击涉企违法犯罪").hits
    assert hit.matching == [1, 2] and not hit.current and hit.versions_label == "versions 1-2"
    assert hit.version.version == 2
    (still,) = store.search.search("检察护企").hits
    assert still.matching == [1, 2, 3] and still.current


def test_traditional_finds_simplified_and_the_reverse(store: Store) -> None:
    store.writer.record("spp", page(1, BODY))
    store.writer.record("tw", page(2, "臺灣地區檢察機關開展專項行動，維護營商環境。"))
    assert urls(store, "檢察護企") == [URL.format(1)]
    assert urls(store, "检察机关") == [URL.format(2)]
    (hit,) = store.search.search("营商环境").hits
    assert hit.snippet is not None and hit.snippet[1] == "營商環境"  # shown as the page wrote it


def test_a_term_across_han_and_digits_or_latin_is_found(store: Store) -> None:
    store.writer.record("spp", page(1, "文章标题123的正文。COVID-19疫情防控。"))
    for found in ("标题123", "题123", "COVID-19疫情", "19疫", "covid"):
        assert urls(store, found) == [URL.format(1)], found
    assert urls(store, "标题12") == []  # digits and Latin are whole words


def test_phrases_or_not_one_character_and_filters(store: Store) -> None:
    store.writer.record("spp", page(1, BODY, day=1))
    store.writer.record("gs", page(2, "甘肃开展扫黑除恶专项斗争。", day=5))
    store.writer.record("gs", page(3, "甘肃省检察院开展专项行动。", day=9))
    assert urls(store, '"专项行动"') == [URL.format(3), URL.format(1)]
    assert urls(store, "扫黑除恶 OR 检察护企") == [URL.format(2), URL.format(1)]
    assert urls(store, "专项 -甘肃") == [URL.format(1)]
    assert urls(store, "专项 NOT 甘肃") == [URL.format(1)]
    assert urls(store, "黑") == [URL.format(2)]  # one character
    assert urls(store, "神") == [URL.format(1)]  # one character only at the end of a run (精神，)
    assert urls(store, "专项 source:gs") == [URL.format(3), URL.format(2)]
    assert urls(store, "专项 since:2024-07-04 until:2024-07-06") == [URL.format(2)]
    assert urls(store, "专项 tag:西北", tags={"西北": ["gs"]}) == [URL.format(3), URL.format(2)]
    assert urls(store, "专项", source_ids=["spp"]) == [URL.format(1)]


def test_pages_follow_one_another_without_repeating_an_article(store: Store) -> None:
    for n in range(7):
        store.writer.record("spp", page(n, f"第{n}次会议部署检察护企工作。"))
    store.writer.record("spp", page(2, "第2次会议部署检察护企工作。更正。"))  # article 2 matches twice, newest
    seen = every_page(store, "检察护企", 3)
    assert seen[0] == URL.format(2) and sorted(seen) == sorted(URL.format(n) for n in range(7))


def test_queries_that_cannot_run_say_why_in_one_line() -> None:
    for bad, why in (("", "nothing to search"), ("-甘肃", "nothing to search"), ("专项 since:7月", "not a date")):
        with pytest.raises(QueryError, match=why):
            parse(bad)


def test_tokens_and_the_expressions_each_database_is_asked() -> None:
    assert document_tokens("檢察院，COVID-19") == "检察 察院 院 covid 19"
    assert term("检察院") is not None and term("检察院").tokens == ("检察", "察院")  # type: ignore[union-attr]
    query = parse('检察 "护企" OR 护航 -试点')
    assert fts5_match(query) == '(("检察") AND ("护企" OR "护航")) NOT "试点"'
    assert tsquery(query) == "(('检察')) & (('护企') | ('护航')) & !('试点')"
    assert fts5_match(parse("罪")) == '("罪"*)' and tsquery(parse("罪")) == "(('罪':*))"
    assert term("标题123").tokens == ("标题", "题", "123")  # type: ignore[union-attr]  # as the document has it
    assert fts5_match(parse("19疫")) == '("19 疫"*)' and tsquery(parse("19疫")) == "(('19' <-> '疫':*))"
    assert replace(query, text="") == query  # the source text does not make two queries differ


def test_db_upgrade_indexes_an_archive_stored_before_search_existed(store: Store) -> None:
    from sqlalchemy import text

    from storage.db import upgrade

    store.writer.record("spp", page(1, BODY))
    with store.engine.begin() as connection:  # as a 0007 archive: its versions, no index (nor later tables)
        for name in ("version_search", "delivery", "outbox", "capture"):
            connection.execute(text(f"DROP TABLE {name}"))
        connection.execute(text("ALTER TABLE campaign DROP COLUMN articles"))
        connection.execute(text("UPDATE alembic_version SET version_num = '0007'"))
    assert upgrade(store.engine) == ("0007", "0012")
    assert urls(store, "政法工作会议") == [URL.format(1)]


def test_an_article_matching_in_old_and_new_versions_does_not_end_the_pages_early(store: Store) -> None:
    store.writer.record("spp", page(0, "第0次会议部署检察护企工作。"))
    for n in range(1, 12):
        store.writer.record("spp", page(n, f"第{n}次会议部署检察护企工作。"))
    store.writer.record("spp", page(0, "第0次会议部署检察护企工作。更正。"))  # article 0: its oldest and newest match
    seen = every_page(store, "检察护企", 1)
    assert seen[0] == URL.format(0) and sorted(seen) == sorted(URL.format(n) for n in range(12))


def test_the_share_of_matching_documents_is_bounded_from_token_statistics() -> None:
    from storage.search_terms import density

    shares = {"检察": 0.9, "察院": 0.5, "院": 0.6, "院长": 0.05, "护企": 0.01}
    assert density(parse("检察院"), shares, 0.001) == 0.5  # a phrase: its rarest token
    assert density(parse("检察 护企"), shares, 0.001) == 0.01  # AND: its rarest clause
    assert density(parse("护企 OR 冬奥"), shares, 0.001) == pytest.approx(0.011)  # OR adds up; 冬奥 is unlisted
    assert density(parse("院"), shares, 0.001) == pytest.approx(0.651)  # a prefix: every token it starts


@pytest.mark.postgres
def test_postgresql_finds_the_same_by_walking_newest_first_as_through_the_bitmap(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which of the two plans a search takes depends on the token statistics; both give the same pages."""
    from sqlalchemy import text

    from storage.backends import postgresql
    from storage.db import ensure_schema, make_engine
    from tests.conftest import _reset_postgres

    _reset_postgres(postgres_url)
    engine = make_engine(postgres_url)
    ensure_schema(engine)
    store = Store(engine)
    for n in range(30):
        store.writer.record("spp", page(n, f"{BODY}第{n}号。" if n % 3 else f"第{n}次会议：检察机关依法履职。"))
    with engine.begin() as connection:
        connection.execute(text("ANALYZE version_search"))
        postgresql.BACKEND._statistics.clear()
        assert postgresql.BACKEND._token_statistics(connection)[1]  # statistics to decide by: both plans run
    queries = ("检察", "检察护企", "检", '"依法履职" OR 护企', "检察 -护企", "不存在的词")
    postgresql.BACKEND._statistics.clear()
    monkeypatch.setattr(postgresql, "BITMAP_ROWS", 10**9)
    through_bitmap = {q: every_page(store, q, 4) for q in queries}
    postgresql.BACKEND._statistics.clear()
    monkeypatch.setattr(postgresql, "BITMAP_ROWS", 0)
    walking = {q: every_page(store, q, 4) for q in queries}
    assert walking == through_bitmap
    articles = store.counts()["articles"]  # (a few near-copies are kept as republications)
    assert len(walking["检察"]) == articles >= 20 and 0 < len(walking["检察护企"]) < articles
    assert walking["不存在的词"] == []
    engine.dispose()


def test_matching_a_text_directly_answers_as_its_tokens_do() -> None:
    from storage.search_terms import matches, matches_text

    texts = [BODY, "檢察院，COVID-19疫情防控", "扫黑除恶专项斗争 2024年", "检", "", "护企。检察"]
    queries = [
        "检察",
        "檢察院",
        '"检察护企"',
        "检察 -护企",
        "covid",
        "19疫",
        "疫情 OR 护航",
        "检",
        "察院，covid",
        "2024年",
        "企检",
    ]
    for text in texts:
        for query in queries:
            parsed = parse(query)
            assert matches_text(parsed, text) == matches(parsed, document_tokens(text)), (query, text)
