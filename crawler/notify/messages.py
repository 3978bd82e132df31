"""Messages people read on a phone, in Chinese: what happened in the title, then the source, the date,
the campaigns named (in 「」), a short diff for an edit, and links to the web view and the original.
Plain text: mail clients, chat apps and webhook receivers all show it as written."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from crawler.config import Source
from feeds.diff import diff_text
from storage.clock import BEIJING
from storage.outbox import Notice

LABELS = {
    "published": "新文章",
    "edited": "修改",
    "removed": "删除",
    "restored": "恢复",
    "campaign": "首次提及",
    "emerging": "新出现",
    "failing": "抓取失败",
    "recovered": "恢复抓取",
}
DIFF_LINES = 4  # changed passages shown in an edit's message; the web view has the rest
EXCERPT = 120  # characters of a new article's text
DIGEST_ITEMS = 50  # entries listed in one digest; the rest are counted


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def message(notice: Notice, sources: Mapping[str, Source], *, link: str | None, rule: str | None = None) -> Message:
    """The message about one outbox entry, ending with its number and the rule that sent it (so a
    reader sees why it came, and a repeat as one)."""
    text = _message(notice, sources, link=link)
    footer = " · ".join(
        p for p in (f"procwatch #{notice.id}" if notice.id else "", f"规则 {rule}" if rule else "") if p
    )
    return Message(text.title, f"{text.body}\n{footer}" if footer else text.body)


def _message(notice: Notice, sources: Mapping[str, Source], *, link: str | None) -> Message:
    label, name = LABELS.get(notice.kind, notice.kind), _source_name(notice, sources)
    if notice.kind in ("failing", "recovered"):
        if notice.kind == "failing":
            title = f"【{label}】{name}：连续 {notice.count} 次失败"
            lines = [f"最近的错误：{(notice.note or '未知')[:300]}"]
        else:
            title = f"【{label}】{name}：{notice.count} 次失败后恢复"
            lines = []
        lines += _links(link, source=notice.source_id)
        return Message(title, "\n".join(lines))
    if notice.kind in ("campaign", "emerging"):
        title = f"【{label}】「{notice.campaign}」" + (f"：{name}" if notice.kind == "campaign" else "")
        lines = []
        if notice.note:
            lines.append(notice.note)
        if notice.context:
            lines.append(f"上下文：…{notice.context.strip()[:200]}…")
        if notice.title:
            lines.append(f"文章：{notice.title}")
        lines += _links(link, article=notice.article_id, url=notice.url, campaign=notice.campaign)
        return Message(title, "\n".join(lines))
    title = f"【{label}】{notice.title or notice.url or ''}"
    lines = [f"来源：{name}"]
    if notice.published_at is not None:
        lines.append(f"发布：{notice.published_at.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）")
    if notice.campaigns:
        lines.append("涉及：" + "、".join(f"「{c}」" for c in dict.fromkeys(notice.campaigns)))
    if notice.kind == "edited" and notice.previous_body is not None and notice.body is not None:
        changes = diff_text(notice.previous_body, notice.body, context=20)
        lines.append(f"第 {notice.version} 版，改动 {len(changes)} 处：")
        lines += [line[:160] for line in changes[:DIFF_LINES]]
        if len(changes) > DIFF_LINES:
            lines.append(f"…… 另有 {len(changes) - DIFF_LINES} 处")
    elif notice.kind == "published" and notice.body:
        excerpt = " ".join(notice.body.split())
        lines.append(excerpt[:EXCERPT] + ("…" if len(excerpt) > EXCERPT else ""))
    elif notice.kind == "removed":
        lines.append("原文已无法访问" + (f"（{notice.note}）" if notice.note else "") + "；存档中的各版仍可查看。")
    lines += _links(link, article=notice.article_id, url=notice.url)
    return Message(title, "\n".join(lines))


def digest(rule: str, notices: Sequence[Notice], sources: Mapping[str, Source], *, link: str | None) -> Message:
    """One message for a digest's entries, grouped by source."""
    by_source: dict[str, list[Notice]] = defaultdict(list)
    for notice in notices:
        by_source[_source_name(notice, sources)].append(notice)
    lines: list[str] = []
    shown = 0
    for name in sorted(by_source, key=lambda n: (-len(by_source[n]), n)):
        lines.append(f"■ {name}（{len(by_source[name])}）")
        for notice in by_source[name]:
            if shown < DIGEST_ITEMS:
                one = _message(notice, sources, link=None)
                where = f" {link.rstrip('/')}/articles/{notice.article_id}" if link and notice.article_id else ""
                lines.append(f"  · {one.title}{where}")
            shown += 1
    if shown > DIGEST_ITEMS:
        lines.append(f"…… 另有 {shown - DIGEST_ITEMS} 条")
    return Message(f"【procwatch 摘要】{rule}：{len(notices)} 条", "\n".join(lines))


def sample(rule: str) -> Notice:
    """What ``procwatch notify test`` sends: a made-up entry, said to be one."""
    from storage.clock import utcnow

    return Notice(
        id=0,
        kind="published",
        source_id=None,
        at=utcnow(),
        title=f"procwatch 测试消息（规则 {rule}）",
        body="这是一条测试消息：规则的目的地能收到 procwatch 的通知。",
    )


def _source_name(notice: Notice, sources: Mapping[str, Source]) -> str:
    source = sources.get(notice.source_id or "")
    return source.name if source is not None else (notice.source_id or "procwatch")


def _links(
    link: str | None,
    *,
    article: int | None = None,
    url: str | None = None,
    source: str | None = None,
    campaign: str | None = None,
) -> list[str]:
    from urllib.parse import quote

    base = link.rstrip("/") if link else None
    out = []
    if base and article is not None:
        out.append(f"存档：{base}/articles/{article}")
    elif base and campaign:
        out.append(f"存档：{base}/campaigns/{quote(campaign)}")
    elif base and source:
        out.append(f"来源状态：{base}/sources/{source}")
    if url:
        out.append(f"原文：{url}")
    return out
