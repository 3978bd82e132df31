"""A simulated world of portals on 127.0.0.1, driven by a seeded timeline over simulated days.

The world serves the mirror's page shapes (TRS in UTF-8, Hanweb as GBK labelled UTF-8, 政法网 lists) for
a national site and several provinces. ``advance(delta)`` moves its clock and applies the events due:
publications, quiet edits (of new and of 2009/2019/2023-dated articles, listed or no longer listed),
removals (404 or redirect home), restorations, republications across provinces, a campaign spreading from
one province to the others, failing hosts (500s for a while), a slow host, list pages reordered. It keeps
the truth: what it served and when, in simulated time. :func:`compare` checks an archive against it.

``python -m crawler.demo.world --report`` plays the world against a throw-away SQLite archive and prints
the figures.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.demo.mirror import Mirror, MirrorArticle, MirrorSite, render_article
from crawler.demo.server import Page
from crawler.demo.synthetic import sentences

if TYPE_CHECKING:
    from crawler.pipeline import CrawlReport

CAMPAIGN = "“清源护企”专项行动"
CAMPAIGN_NAME = "清源护企"  # as procwatch names it
SHARED_SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


@dataclass
class Version:
    marker: str  # a sentence only this version's text holds
    served_from: datetime
    served_until: datetime | None = None
    listed: bool = True  # on its list's first page when served: the daemon's list crawl sees it


@dataclass
class Truth:
    """One article URL as the world served it."""

    site: str
    url: str
    published: datetime
    versions: list[Version] = field(default_factory=list)
    removals: list[tuple[datetime, str]] = field(default_factory=list)  # (when, "404" | "redirect")
    restorations: list[datetime] = field(default_factory=list)
    republishes: str | None = None  # the original's URL
    campaign: bool = False


@dataclass
class CrawlTime:
    simulated: datetime
    started: datetime  # wall clock, UTC
    ended: datetime


@dataclass
class Site:
    mirror: MirrorSite
    listed: list[MirrorArticle]  # in list order
    served: dict[str, MirrorArticle] = field(default_factory=dict)  # path -> article, listed or not
    failing_until: datetime | None = None
    outages: list[tuple[datetime, datetime]] = field(default_factory=list)  # (from, until): lists answer 500
    #: path -> until when the article's page breaks extraction (a PDF served as text/html)
    broken: dict[str, datetime] = field(default_factory=dict)


BROKEN_PAGE = b"%PDF-1.4\n% a document served as an HTML page: no article can be read from it\n"


PROVINCES = [
    ("spp", "最高人民检察院", "trs", "trs", "/spp/xwfbh/index.shtml", None, "national"),
    ("scjcy", "四川省人民检察院", "hanweb", "hanweb", "/col/col1621004/index.html", "四川", "provincial"),
    ("zjjcy", "浙江省人民检察院", "trs", "trs", "/zjjcy/jcyw/index.shtml", "浙江", "provincial"),
    ("gdzfw", "广东政法网", "trs", "trs", "/gdzfw/zfyw/index.shtml", "广东", "provincial"),
    ("gszfw", "甘肃政法网", "generic", "zfw", "/zfyw/index.shtml", "甘肃", "provincial"),
    ("hnjcy", "河南省人民检察院", "trs", "trs", "/hnjcy/jcdt/index.shtml", "河南", "provincial"),
]


def _marker(kind: str, serial: int) -> str:
    """A sentence unique to one version, in words (digits could be normalised)."""
    return f"{kind}第{''.join('零一二三四五六七八九'[int(d)] for d in str(serial))}号,特此说明。"


def _mark(text: str, marker: str) -> str:
    """The text with a marker paragraph inside it (a quiet edit of the text itself; a last line could
    pass for page furniture)."""
    lines = text.split("\n")
    lines.insert(min(2, len(lines)), marker)
    return "\n".join(lines)


def _pool() -> list[str]:
    pool = sentences()
    if SHARED_SEEDS.is_dir():  # optional richer texts beside the project; the shipped ones suffice
        for entry in sorted(SHARED_SEEDS.glob("*.txt")):
            pool += [s for s in entry.read_text("utf-8", "replace").replace("\n", "。").split("。") if len(s) > 12]
    # the samples keep some page furniture (下一篇 links): an article's text is cut before it, rightly
    return sorted(
        {s.strip() for s in pool if not any(f in s for f in ("上一篇", "下一篇", ">>", "【", "责任编辑", "免责声明"))}
    )


class World:
    def __init__(self, seed: int = 7, *, start: datetime | None = None, days: int = 56, first_port: int = 0):
        self.rng = random.Random(seed)
        self.pool = _pool()
        self.now = start or (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0)
        self.end = self.now + timedelta(days=days)
        self.truth: dict[str, Truth] = {}
        self.crawls: list[CrawlTime] = []
        self.campaign_first: dict[str, datetime] = {}  # source -> first served mention
        self._serial = 0
        mirrors = [
            MirrorSite(
                id=i,
                name=n,
                adapter=a,
                cms=c,
                list_path=p,
                region=r,
                level=lv,
                articles=[],
                per_page=12,
                served_charset="gbk" if c == "hanweb" else "utf-8",
                kind="political-legal" if "政法" in n else "procuratorate",
            )
            for i, n, a, c, p, r, lv in PROVINCES
        ]
        self.mirror = Mirror(mirrors, first_port=first_port)
        self.sites = {m.id: Site(m, []) for m in mirrors}
        for site_id in self.sites:  # the archive a portal already holds: some very old articles
            for year in (2009, 2019, 2023):
                self._publish(
                    site_id, datetime(year, 3 + self.rng.randrange(9), 1 + self.rng.randrange(27), 10, tzinfo=UTC)
                )
            for back in range(4):
                self._publish(site_id, self.now - timedelta(days=10 + 5 * back))
        self.events = self._script(days)
        for site_id in self.sites:
            self._render(site_id)

    # --- the pages -------------------------------------------------------------------------------------
    def _path(self, site: Site, when: datetime, serial: int) -> str:
        cms, stem = site.mirror.cms, site.mirror.list_path.rsplit("/", 1)[0]
        if cms == "hanweb":
            return f"/art/{when.year}/{when.month}/{when.day}/art_1621004_{30000000 + serial}.html"
        if cms == "zfw":
            return f"/c100007/{when:%Y-%m/%d}/content_{12600000 + serial}.shtml"
        return f"{stem}/{when:%Y%m}/t{when:%Y%m%d}_{600000 + serial}.shtml"

    def _publish(
        self,
        site_id: str,
        when: datetime,
        *,
        body: str | None = None,
        original: str | None = None,
        campaign: bool = False,
        listed: bool = True,
    ) -> Truth:
        self._serial += 1
        site = self.sites[site_id]
        marker = _marker("本稿存档", self._serial)
        text = body or "\n".join(f"{s}。" for s in self.rng.sample(self.pool, 8))
        if campaign and not body:
            text = f"{site.mirror.name}部署开展{CAMPAIGN},依法保护企业合法权益。\n" + text
        article = MirrorArticle(
            self._path(site, when, self._serial),
            f"{site.mirror.name}动态第{self._serial}号",
            f"{when.astimezone(UTC) + timedelta(hours=8):%Y-%m-%d %H:%M:%S}",
            "",
            body=_mark(text, marker),
            source_label="检察日报" if original else site.mirror.name,
        )
        if original:
            article.body += f"\n原文链接:{original}"
        site.served[article.path] = article
        if listed:
            site.listed.insert(0, article)
        url = self.mirror.url(site_id, article.path)
        truth = Truth(site_id, url, when, [Version(marker, self.now)], republishes=original, campaign=campaign)
        self.truth[url] = truth
        if campaign:
            self.campaign_first.setdefault(site_id, self.now)
        return truth

    def _render(self, site_id: str) -> None:
        site = self.sites[site_id]
        server, mirror = self.mirror.servers[site_id], site.mirror
        mirror.articles = site.listed
        if site.failing_until and site.failing_until > self.now:
            server.set(mirror.list_path, Page(b"<html><body>500</body></html>", status=500))
            return
        self.mirror.publish(site_id)  # list pages, home, robots and listed articles
        for path, article in site.served.items():
            truth = self.truth[self.mirror.url(site_id, path)]
            if truth.removals and (not truth.restorations or truth.restorations[-1] < truth.removals[-1][0]):
                kind = truth.removals[-1][1]
                if kind == "404":
                    server.remove(path)
                else:
                    server.set(path, Page(b"", status=302, headers={"Location": "/"}))
            elif article not in site.listed:
                server.set(path, self.mirror._encode(mirror, render_article(mirror, article, len(site.listed))))
        for path, until in site.broken.items():
            if until > self.now:
                server.set(path, Page(BROKEN_PAGE))

    # --- the timeline ----------------------------------------------------------------------------------
    def _script(self, days: int) -> list[tuple[datetime, str, str]]:
        """(when, what, site) events, seeded; what an event touches is chosen when it happens."""
        events: list[tuple[datetime, str, str]] = []
        ids = list(self.sites)
        provinces = ids[1:]
        for day in range(days):
            at = self.now + timedelta(days=day, hours=self.rng.randrange(1, 20))
            for site_id in ids:
                if self.rng.random() < 0.5:
                    events.append((at, "publish", site_id))
            if day % 3 == 1:
                events.append(
                    (at, self.rng.choice(["edit-new", "edit-old-listed", "edit-old-unlisted"]), self.rng.choice(ids))
                )
            if day % 9 == 4:
                events.append((at, self.rng.choice(["remove-404", "remove-redirect"]), self.rng.choice(ids)))
            if day % 9 == 7:
                events.append((at, "restore", self.rng.choice(ids)))
            if day % 6 == 2:
                events.append((at, "republish", self.rng.choice(provinces)))
            if day % 10 == 5:
                events.append((at, "reorder", self.rng.choice(ids)))
        order = self.rng.sample(provinces, len(provinces))
        for week, site_id in enumerate(order):  # the campaign: one province first, then the others
            events.append((self.now + timedelta(days=3 + 7 * week, hours=9), "campaign", site_id))
        events.append((self.now + timedelta(days=days // 3), "fail", self.rng.choice(provinces)))
        events.append((self.now + timedelta(days=days // 2), "slow", self.rng.choice(provinces)))
        for day in (2, days // 2 + 1):  # a new article whose page cannot be read for a day, then can
            events.append((self.now + timedelta(days=day, hours=3), "break", self.rng.choice(ids)))
        events.append((self.now + timedelta(days=days - 2), "edit-old-unlisted", "spp"))  # an old one, late
        events.append((self.now + timedelta(days=days - 2), "edit-old-listed", self.rng.choice(provinces)))
        return sorted(events)

    def _pick(self, site_id: str, kind: str) -> Truth | None:
        """An article of the site to act on, live and served for at least two days (a crawl saw it)."""
        site = self.sites[site_id]
        listed = {self.mirror.url(site_id, a.path) for a in site.listed}
        cutoff = self.now - timedelta(days=2)
        candidates = [
            t
            for t in self.truth.values()
            if t.site == site_id
            and t.versions[-1].served_from < cutoff
            and not self._removed(t)
            and not t.republishes
            and not t.campaign
            and {
                "edit-new": t.published > self.end - timedelta(days=120),
                "edit-old-listed": t.published.year <= 2023 and t.url in listed,
                "edit-old-unlisted": t.published.year <= 2023 and t.url not in listed,
            }.get(kind, True)
        ]
        return self.rng.choice(sorted(candidates, key=lambda t: t.url)) if candidates else None

    @staticmethod
    def _removed(truth: Truth) -> bool:
        return bool(truth.removals) and (not truth.restorations or truth.restorations[-1] < truth.removals[-1][0])

    def _apply(self, what: str, site_id: str) -> None:
        site = self.sites[site_id]
        if what == "publish":
            self._publish(site_id, self.now)
        elif what == "campaign":
            self._publish(site_id, self.now, campaign=True)
        elif what == "republish":
            originals = [
                t
                for t in self.truth.values()
                # a repost follows its original by a day or more: the original is already archived
                if t.site == "spp"
                and not self._removed(t)
                and self.end - timedelta(days=120) < t.published < self.now - timedelta(days=1)
            ]
            if originals:
                original = self.rng.choice(sorted(originals, key=lambda t: t.url))
                body = self._article(original).body  # the same text
                self._publish(site_id, self.now, body=body, original=original.url)
        elif what.startswith("edit"):
            if what == "edit-old-unlisted":  # take an old listed one off the list first, if none is yet
                for article in list(site.listed):
                    old = self.truth[self.mirror.url(site_id, article.path)]
                    if old.published.year <= 2023 and self.rng.random() < 0.5:
                        site.listed.remove(article)
                        break
            truth = self._pick(site_id, what)
            if truth:
                self._serial += 1
                marker = _marker("补充说明", self._serial)
                self._article(truth).body = _mark(self._article(truth).body, marker)
                truth.versions[-1].served_until = self.now
                first_page = site.listed[: site.mirror.per_page]
                listed = any(self.mirror.url(site_id, a.path) == truth.url for a in first_page)
                truth.versions.append(Version(marker, self.now, listed=listed))
        elif what.startswith("remove"):
            truth = self._pick(site_id, what)
            if truth:
                truth.removals.append((self.now, what.removeprefix("remove-")))
        elif what == "restore":
            # an article taken down on any portal comes back (the event's site only if it has one)
            removed = [
                t for t in self.truth.values() if self._removed(t) and t.removals[-1][0] < self.now - timedelta(days=2)
            ]
            removed = [t for t in removed if t.site == site_id] or removed
            if removed:
                truth = self.rng.choice(sorted(removed, key=lambda t: t.url))
                truth.restorations.append(self.now)
        elif what == "reorder":
            self.rng.shuffle(site.listed)
        elif what == "fail":
            site.failing_until = self.now + timedelta(days=3)
            site.outages.append((self.now, site.failing_until))
        elif what == "break":
            truth = self._publish(site_id, self.now)
            article = site.listed[0]
            site.broken[article.path] = self.now + timedelta(days=1)
            truth.versions[0].served_from = site.broken[article.path]  # its text can be read from then on
        elif what == "slow":
            self.mirror.servers[site_id].delay = 0.02
        self._render(site_id)

    def _article(self, truth: Truth) -> MirrorArticle:
        site = self.sites[truth.site]
        return next(a for path, a in site.served.items() if self.mirror.url(truth.site, path) == truth.url)

    # --- the clock -------------------------------------------------------------------------------------
    def advance(self, delta: timedelta) -> int:
        """Move the clock on, applying the events due; returns how many were applied."""
        until, applied = self.now + delta, 0
        while self.events and self.events[0][0] <= until:
            at, what, site_id = self.events.pop(0)
            self.now = at
            self._apply(what, site_id)
            applied += 1
        self.now = until
        for site_id in self.sites:  # a failing host's time runs out
            self._render(site_id)
        return applied

    async def crawl(self, config: object, store: object, *, backfill: int = 0) -> list[CrawlReport]:
        """One cycle of what the daemon does, now (in this process): a crawl of every source, then its
        re-check job (known articles, listed or not), remembered with the simulated time; the reports."""
        from crawler.runtime import Runtime

        started = datetime.now(UTC)
        async with Runtime(config, store) as runtime:  # type: ignore[arg-type]
            reports = await asyncio.gather(*(runtime.fetch(s, backfill=backfill) for s in config.sources))  # type: ignore[attr-defined]
            reports += await runtime.recheck()
        self.crawls.append(CrawlTime(self.now, started, datetime.now(UTC)))
        return reports

    def simulated(self, wall: datetime) -> datetime | None:
        """The simulated time of the crawl that was running (or had last run) at this wall-clock time."""
        wall = wall if wall.tzinfo else wall.replace(tzinfo=UTC)
        before = [c for c in self.crawls if c.started <= wall]
        return before[-1].simulated if before else None

    def write_config(self, path: Path) -> Path:
        text = self.mirror.sources_yaml().replace(
            "settings:\n",
            "settings:\n  retries: 0\n  timeout: 5s\n  recheck:\n    - {younger_than: 36500d, every: 1s}\n",
            1,
        )
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> World:
        self.mirror.start()
        return self

    def stop(self) -> None:
        self.mirror.stop()

    def __enter__(self) -> World:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def figures(self) -> dict[str, int]:
        """What the world served."""
        truths = list(self.truth.values())
        return {
            "articles": len(truths),
            "edits": sum(len(t.versions) - 1 for t in truths),
            "removals": sum(len(t.removals) for t in truths),
            "restorations": sum(len(t.restorations) for t in truths),
            "republications": sum(1 for t in truths if t.republishes),
            "campaign_sources": len(self.campaign_first),
            "unreadable_pages": sum(len(site.broken) for site in self.sites.values()),
        }

    def unreadable(self) -> dict[str, str]:
        """URL -> source of the article pages that cannot be read right now."""
        return {
            self.mirror.url(site_id, path): site_id
            for site_id, site in self.sites.items()
            for path, until in site.broken.items()
            if until > self.now
        }


@dataclass
class Verdict:
    problems: list[str]
    delays: dict[str, timedelta]  # article age band -> largest delay from an edit to its record
    held: dict[str, int]


def _age_band(published: datetime, at: datetime) -> str:
    age = at - published
    return "< 30 days" if age < timedelta(days=30) else "< 1 year" if age < timedelta(days=365) else ">= 1 year"


def compare(world: World, store: object) -> Verdict:
    """Check an archive (a storage Store) against what the world served."""
    from storage.kinds import EventKind

    problems: list[str] = []
    delays: dict[str, timedelta] = {}
    events = store.history.events(limit=100_000, reported_only=False)  # type: ignore[attr-defined]
    by_article: dict[int, list[object]] = {}
    for event, article in events:
        by_article.setdefault(article.id, []).append(event)
    counts = store.counts()  # type: ignore[attr-defined]
    if counts["articles"] + counts["republications"] != len(world.truth):
        problems.append(
            f"{len(world.truth)} URLs served, archive holds {counts['articles']} articles "
            f"+ {counts['republications']} republications"
        )
    republications = 0
    for truth in world.truth.values():
        stored = store.history.get_article(truth.url)  # type: ignore[attr-defined]
        if stored is None:
            if truth.republishes:
                original = store.history.get_article(truth.republishes)  # type: ignore[attr-defined]
                urls = [r.url for r in store.history.republications(original.article.id)] if original else []  # type: ignore[attr-defined]
                if truth.url in urls:
                    republications += 1
                    continue
            # an original first seen after its copy (published within storage's EARLIER_BY of each other)
            # is kept as the copy's republication: first seen is canonical then
            copies = [store.history.get_article(t.url) for t in world.truth.values() if t.republishes == truth.url]  # type: ignore[attr-defined]
            if any(c and truth.url in [r.url for r in store.history.republications(c.article.id)] for c in copies):  # type: ignore[attr-defined]
                continue
            problems.append(f"{truth.url}: never stored")
            continue
        texts = [v.body_text for v in stored.versions]
        for number, version in enumerate(truth.versions):
            holders = [v for v in stored.versions if version.marker in v.body_text]
            if not holders:
                problems.append(
                    f"{truth.url}: version {number + 1} (served from {version.served_from:%Y-%m-%d}) never recorded"
                )
                continue
            if number:
                recorded = world.simulated(holders[0].fetched_at)
                if recorded is not None:
                    band = f"{_age_band(truth.published, version.served_from)}, {'' if version.listed else 'un'}listed"
                    delays[band] = max(delays.get(band, timedelta(0)), recorded - version.served_from)
        if len(set(texts)) != len(texts) and not truth.removals:
            problems.append(f"{truth.url}: a version recorded twice")
        kinds = [str(e.kind) for e in by_article.get(stored.article.id, [])]  # type: ignore[attr-defined]
        if truth.removals and str(EventKind.removed) not in kinds:
            problems.append(f"{truth.url}: removal ({truth.removals[0][1]}) not recorded")
        if truth.restorations and str(EventKind.restored) not in kinds:
            problems.append(f"{truth.url}: restoration not recorded")
    spread = store.campaigns.campaign_spread(CAMPAIGN_NAME)  # type: ignore[attr-defined]
    rows = {row.source_id: row for row, _ in spread.sources} if spread else {}
    mentioned = set(rows)
    for source_id, served_at in world.campaign_first.items():
        row = rows.get(source_id)
        if row is None:
            problems.append(f"campaign {CAMPAIGN}: first mention by {source_id} not recorded")
            continue
        # dated by observation (the crawl after it could be seen: after the host's outage, if it was
        # failing), its publication date kept beside it
        visible = served_at
        for start, end in sorted(world.sites[source_id].outages):
            if start <= visible + timedelta(days=1) and end > visible:  # failing by the next daily crawl
                visible = end
        observed = world.simulated(row.first_seen_at)
        if observed is None or not served_at <= observed <= visible + timedelta(days=1):
            problems.append(
                f"campaign {CAMPAIGN}: {source_id}'s first mention, served {served_at}, observed {observed}"
            )
        published = row.first_published_at
        if published is None or abs(published.replace(tzinfo=UTC) - served_at) > timedelta(minutes=1):
            problems.append(
                f"campaign {CAMPAIGN}: {source_id}'s first mention published {served_at}, kept as {published}"
            )
    held = {**counts, "republications_found": republications, "campaign_sources": len(mentioned)}
    return Verdict(problems, delays, held)


async def play(world: World, store: object, config: object, *, days: int, on_day: object = None) -> None:
    """Advance the world a day at a time, crawling after each day."""
    for day in range(days):
        world.advance(timedelta(days=1))
        await world.crawl(config, store)
        if on_day is not None:
            await on_day(day)  # type: ignore[operator]


def main() -> None:
    import argparse
    import tempfile

    from crawler.runtime import load
    from storage import Store, open_database

    parser = argparse.ArgumentParser(description="play the simulated world and print its figures")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--days", type=int, default=56)
    began = time.monotonic()
    parser.add_argument("--keep", type=Path, help="keep the archive in this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, World(days=args.days) as world:
        tmp = str(args.keep or tmp)
        Path(tmp).mkdir(parents=True, exist_ok=True)
        config = load(world.write_config(Path(tmp) / "sources.yaml"))
        store = Store(open_database(str(Path(tmp) / "world.sqlite3")))
        asyncio.run(play(world, store, config, days=args.days))
        verdict = compare(world, store)
    print(f"world served: {world.figures()}")
    print(f"archive holds: {verdict.held}")
    for band, delay in sorted(verdict.delays.items()):
        print(f"largest delay from an edit to its record, article age {band}: {delay}")
    print(f"problems: {len(verdict.problems)}")
    for problem in verdict.problems:
        print(f"  {problem}")
    print(f"{args.days} simulated days in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
