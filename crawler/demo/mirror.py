"""An offline mirror of three portals, shaped like the real ones, built from the sample texts.

* ``spp``: 最高人民检察院-style TRS WCM site in UTF-8 (meta tags, ``.TRS_Editor``, ``createPageHTML`` pager);
* ``scjcy``: a provincial procuratorate on 大汉 Hanweb, served as GBK while its headers and meta
  say UTF-8, list records inside a ``<datastore>`` script, one Traditional article with pinyin
  annotations inside words;
* ``zfw``: a 政法网 reposting an article with 原文链接, disclaimer and prev/next links inside the body.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import yaml

from crawler.demo.server import Page, StaticServer

TEXTS = files("crawler.demo") / "texts"
TITLES: dict[str, str] = yaml.safe_load((TEXTS / "titles.yaml").read_text("utf-8"))


@dataclass
class MirrorArticle:
    path: str
    title: str
    published: str  # as the page prints it, Beijing time
    text_file: str
    source_label: str | None = None
    author: str | None = None
    skip_lines: int = 0  # leading lines of the sample that are page header, not article
    body: str = ""

    def __post_init__(self) -> None:
        if not self.body and self.text_file:
            lines = (TEXTS / self.text_file).read_text(encoding="utf-8").split("\n")
            self.body = "\n".join(lines[self.skip_lines :]).strip("\n")


@dataclass
class MirrorSite:
    id: str
    name: str
    adapter: str
    cms: str  # trs | hanweb | zfw
    list_path: str
    articles: list[MirrorArticle]
    served_charset: str = "utf-8"
    labelled_charset: str = "utf-8"
    per_page: int = 2
    tags: list[str] = field(default_factory=list)
    kind: str = "procuratorate"
    level: str = "national"
    region: str | None = None


def default_sites() -> list[MirrorSite]:
    return [
        MirrorSite(
            id="spp",
            name="最高人民检察院",
            adapter="trs",
            cms="trs",
            list_path="/spp/xwfbh/index.shtml",
            level="national",
            articles=[
                MirrorArticle(
                    "/spp/xwfbh/202407/t20240709_660012.shtml",
                    TITLES["spp_dangzuhui.txt"],
                    "2024-07-09 18:30:00",
                    "spp_dangzuhui.txt",
                    "最高人民检察院",
                ),
                MirrorArticle(
                    "/spp/xwfbh/202403/t20240326_650031.shtml",
                    TITLES["spp_huqi.txt"],
                    "2024-03-26 10:00:00",
                    "spp_huqi.txt",
                    "最高人民检察院新闻办公室",
                ),
                MirrorArticle(
                    "/spp/xwfbh/202311/t20231113_633095.shtml",
                    TITLES["spp_jianyi.txt"],
                    "2023-11-13 16:20:00",
                    "spp_jianyi.txt",
                    "检察日报",
                    "戴佳",
                ),
            ],
        ),
        MirrorSite(
            id="scjcy",
            name="四川省人民检察院",
            adapter="hanweb",
            cms="hanweb",
            list_path="/col/col1621004/index.html",
            served_charset="gbk",
            labelled_charset="utf-8",
            level="provincial",
            region="四川",
            articles=[
                MirrorArticle(
                    "/art/2025/9/5/art_1621004_30332664.html",
                    TITLES["000_916713a77dc3928b.txt"],
                    "2025-09-05",
                    "000_916713a77dc3928b.txt",
                    "四川省人民检察院",
                    skip_lines=7,
                ),
                MirrorArticle(
                    "/art/2024/7/10/art_1621004_28810045.html",
                    TITLES["004_f074e520b3945e3b.txt"],
                    "2024-07-10 09:12",
                    "004_f074e520b3945e3b.txt",
                    "最高人民檢察院",
                ),
            ],
        ),
        MirrorSite(
            id="zfw",
            name="甘肃政法网",
            adapter="generic",
            cms="zfw",
            list_path="/zfyw/index.shtml",
            kind="political-legal",
            level="provincial",
            region="甘肃",
            articles=[
                MirrorArticle(
                    "/c100007/2022-12/01/content_12625064.shtml",
                    TITLES["002_b5316c13db00e1d7.txt"],
                    "2022-12-01",
                    "002_b5316c13db00e1d7.txt",
                    "西藏自治区人民检察院",
                    "佚名",
                    skip_lines=2,
                ),
            ],
        ),
    ]


def _paragraphs(text: str) -> str:
    return "\n".join(f"<p>{html.escape(line.strip())}</p>" for line in text.split("\n") if line.strip())


_HEADER = """<div class="top"><div class="w1200"><span>支持IPv6网络</span> <a href="/wza/">网站无障碍</a>
<span class="today">今天是:<script>document.write(new Date().toLocaleDateString())</script></span>
<a href="/">首页</a> | <a href="/gywm/">关于我们</a></div></div>
<div class="nav"><ul><li><a href="/">首页</a></li><li><a href="{list}">新闻发布</a></li>
<li><a href="/jcyw/">检察要闻</a></li><li><a href="/qwfb/">权威发布</a></li></ul></div>"""
_FOOTER = """<div class="footer"><p>版权所有:{name} 京ICP备12345678号</p>
<p>网站标识码:bm35000001 <a href="/wzdt/">网站地图</a> <a href="/lxwm/">联系我们</a></p></div>
<script>var _hmt = _hmt || [];(function(){{var hm=document.createElement("script");}})();</script>"""


def render_article(site: MirrorSite, article: MirrorArticle, index: int) -> str:
    title, body = html.escape(article.title), _paragraphs(article.body)
    label = html.escape(article.source_label or "")
    prev_next = ""
    if index + 1 < len(site.articles):
        other = site.articles[index + 1]
        prev_next = f'<div class="prev-next">上一篇:<a href="{other.path}">{html.escape(other.title)}</a></div>'
    header = _HEADER.format(list=site.list_path)
    footer = _FOOTER.format(name=site.name)
    charset = site.labelled_charset
    if site.cms == "trs":
        return f"""<!DOCTYPE html><html><head><meta charset="{charset}">
<title>{title}_{site.name}</title>
<meta name="SiteName" content="{site.name}"><meta name="ColumnName" content="新闻发布会">
<meta name="ArticleTitle" content="{title}"><meta name="PubDate" content="{article.published}">
<meta name="ContentSource" content="{label}">{f'<meta name="Author" content="{article.author}">' if article.author else ""}
<link rel="stylesheet" href="/css/style.css"></head><body>{header}
<div class="detail"><div class="detail_tit"><h2>{title}</h2></div>
<div class="detail_extend"><span>时间:{article.published}</span><span>来源:{label}</span>
<span class="zh">【字号 <a>大</a> <a>中</a> <a>小</a>】</span> <a href="javascript:window.print()">打印本页</a></div>
<div class="detail_con"><div class="TRS_Editor"><style>.TRS_Editor P{{line-height:2;}}</style>{body}</div></div>
<div class="bdsharebuttonbox">分享到:<a class="bds_weixin">微信</a><a class="bds_tsina">微博</a></div>
{prev_next}</div>{footer}</body></html>"""
    if site.cms == "hanweb":
        return f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{title} - {site.name}</title><meta name="ArticleTitle" content="{title}">
<meta name="PubDate" content="{article.published}"><meta name="ContentSource" content="{label}">
</head><body>{header}<div class="main"><div class="position">当前位置: <a href="/">首页</a> &gt; 检察动态</div>
<div class="article"><h1 class="title">{title}</h1>
<div class="info">发布日期:{article.published} 信息来源:{label} 浏览次数:<span id="visit">1024</span>
字体:[<a>大</a> <a>中</a> <a>小</a>]</div>
<div id="zoom"><!--<$[信息内容]>begin-->{body}<!--<$[信息内容]>end--></div>
<div class="share">分享到: 微信 微博</div><div class="print"><a>【打印本页】</a> <a>【关闭窗口】</a></div>
{prev_next}</div></div>{footer}</body></html>"""
    author = f" 作者:{article.author}" if article.author else ""
    return f"""<!DOCTYPE html><html><head><meta charset="{charset}"><title>{title}-{site.name}</title>
</head><body>{header}<div class="container"><div class="xl_title">{title}</div>
<div class="xl_info">发布时间:{article.published} 来源: {label}{author}</div>
<meta name="ContentStart"><div class="xl_content">{body}</div><meta name="ContentEnd">
<div class="related"><h3>相关新闻</h3><ul><li><a href="/c100007/2022-11/30/content_12624001.shtml">点军:以案促学</a></li></ul></div>
</div>{footer}</body></html>"""


def render_list(site: MirrorSite, page: int) -> str:
    chunk = site.articles[page * site.per_page : (page + 1) * site.per_page]
    pages = max(1, -(-len(site.articles) // site.per_page))
    date = lambda a: a.published[:10]  # noqa: E731
    rows = "\n".join(
        f'<li><a href="{a.path}" target="_blank" title="{html.escape(a.title)}">{html.escape(a.title)}</a>'
        f"<span>{date(a)}</span></li>"
        for a in chunk
    )
    header, footer = _HEADER.format(list=site.list_path), _FOOTER.format(name=site.name)
    if site.cms == "hanweb":
        records = "".join(f"<record><![CDATA[{row}]]></record>" for row in rows.split("\n"))
        return (
            f'<!DOCTYPE html><html><head><meta charset="{site.labelled_charset}"><title>检察动态</title></head>'
            f'<body>{header}<div id="1621004"><script type="text/xml"><datastore><totalrecord>{len(chunk)}'
            f"</totalrecord><recordset>{records}</recordset></datastore></script></div>{footer}</body></html>"
        )
    pager = f'<script>createPageHTML({pages}, {page}, "index", "shtml");</script>' if site.cms == "trs" else ""
    return (
        f'<!DOCTYPE html><html><head><meta charset="{site.labelled_charset}"><title>{site.name}</title></head>'
        f'<body>{header}<div class="list"><ul>{rows}</ul>{pager}</div>{footer}</body></html>'
    )


class Mirror:
    """The mirror sites, each on its own 127.0.0.1 port, editable while running."""

    def __init__(self, sites: list[MirrorSite] | None = None, *, first_port: int = 0):
        """``first_port``: the sites listen on it and the ports after it, so their URLs (and the feeds'
        GUIDs, which are article URLs) stay the same from one run to the next; 0 picks free ports."""
        self.sites = {site.id: site for site in (sites or default_sites())}
        self.servers = {
            site_id: StaticServer(port=first_port + index if first_port else 0)
            for index, site_id in enumerate(self.sites)
        }
        for site_id in self.sites:
            self.publish(site_id)

    def _encode(self, site: MirrorSite, text: str) -> Page:
        body = text.encode(site.served_charset, "xmlcharrefreplace")
        return Page(body, content_type=f"text/html; charset={site.labelled_charset}")

    def publish(self, site_id: str) -> None:
        """(Re-)render a site's list and article pages from its current article list."""
        site, server = self.sites[site_id], self.servers[site_id]
        pages = max(1, -(-len(site.articles) // site.per_page))
        stem = site.list_path.rsplit("/", 1)[0]
        ext = site.list_path.rsplit(".", 1)[-1]
        for page in range(pages):
            path = site.list_path if page == 0 else f"{stem}/index_{page}.{ext}"
            server.set(path, self._encode(site, render_list(site, page)))
        for index, article in enumerate(site.articles):
            server.set(article.path, self._encode(site, render_article(site, article, index)))
        server.set("/robots.txt", Page(b"User-agent: *\nDisallow: /search/\n", content_type="text/plain"))
        home = f'<html><head><meta charset="utf-8"><title>{site.name}</title></head><body><a href="{site.list_path}">新闻</a></body></html>'
        server.set("/", self._encode(site, home))

    def url(self, site_id: str, path: str) -> str:
        return self.servers[site_id].url(path)

    def article(self, site_id: str, index: int = 0) -> MirrorArticle:
        return self.sites[site_id].articles[index]

    def edit(self, site_id: str, index: int, *, body: str | None = None, title: str | None = None) -> str:
        """Change one article in place (as a portal's quiet edit would); returns its URL."""
        site, article = self.sites[site_id], self.sites[site_id].articles[index]
        if body is not None:
            article.body = body
        if title is not None:
            article.title = title
        self.servers[site_id].set(article.path, self._encode(site, render_article(site, article, index)))
        return self.url(site_id, article.path)

    def remove(self, site_id: str, index: int) -> str:
        """Make an article answer 404 (it stays on the list page, as removed articles often do)."""
        article = self.sites[site_id].articles[index]
        self.servers[site_id].remove(article.path)
        return self.url(site_id, article.path)

    def delist(self, site_id: str, index: int, *, remove_page: bool = False) -> str:
        """Take an article off the list pages (and, optionally, off the site)."""
        site = self.sites[site_id]
        article = site.articles.pop(index)
        self.publish(site_id)
        if remove_page:
            self.servers[site_id].remove(article.path)
        return self.url(site_id, article.path)

    def redirect_home(self, site_id: str, index: int) -> str:
        """Make an article answer with a redirect to the home page, as many portals do for deleted pages."""
        article = self.sites[site_id].articles[index]
        self.servers[site_id].set(article.path, Page(b"", status=302, headers={"Location": "/"}))
        return self.url(site_id, article.path)

    def restore(self, site_id: str, index: int) -> str:
        site, article = self.sites[site_id], self.sites[site_id].articles[index]
        self.servers[site_id].set(article.path, self._encode(site, render_article(site, article, index)))
        return self.url(site_id, article.path)

    def sources_yaml(self, *, every: str = "30m") -> str:
        """A sources.yaml pointing at the running mirror."""
        out = ["settings:", "  min_delay: 0s", "  concurrency: 4", "sources:"]
        for site in self.sites.values():
            out += [
                f"  - id: {site.id}",
                f"    name: {site.name}",
                f"    adapter: {site.adapter}",
                f"    lists: [{self.url(site.id, site.list_path)}]",
                f"    homepage: {self.url(site.id, '/')}",
                f"    schedule: {{every: {every}}}",
                "    allow_private: true  # the mirror runs on 127.0.0.1",
                f"    kind: {site.kind}",
                f"    level: {site.level}",
            ]
            if site.region:
                out.append(f"    region: {site.region}")
        return "\n".join(out) + "\n"

    def write_config(self, path: Path, **options: str) -> Path:
        path.write_text(self.sources_yaml(**options), encoding="utf-8")
        return path

    def start(self) -> Mirror:
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> Mirror:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
