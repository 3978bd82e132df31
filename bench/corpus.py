"""Realistic article pages with known answers, for the extraction benchmark.

The demo mirror's six articles in their three CMS templates (TRS in UTF-8, Hanweb served as GBK,
a 政法网 repost with its footer junk), the three hand-made fixture pages of the test suite, and
synthetic articles from the sample texts rendered through all three templates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crawler.chrome import is_chrome_line
from crawler.demo.mirror import MirrorSite, default_sites, render_article
from crawler.demo.synthetic import bulk_site
from crawler.normalise import clean_lines, is_attribution_line, strip_pinyin

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "pages"


@dataclass(frozen=True)
class Case:
    url: str
    html: bytes
    title: str
    date: str  # YYYY-MM-DD, Beijing
    first: str  # first line of the article text
    last: str  # last line of the article text (before attribution lines)


def _case(site: MirrorSite, index: int) -> Case:
    article = site.articles[index]
    lines = [line for line in clean_lines(strip_pinyin(article.body)) if not is_chrome_line(line)]
    content = [line for line in lines if not is_attribution_line(line)]
    html = render_article(site, article, index).encode(site.served_charset, "xmlcharrefreplace")
    return Case(
        f"http://{site.id}.example.gov.cn{article.path}",
        html,
        article.title,
        article.published[:10],
        content[0],
        content[-1],
    )


def cases(synthetic: int = 60) -> list[Case]:
    out = [_case(site, i) for site in default_sites() for i in range(len(site.articles))]
    for n, cms in enumerate(("trs", "hanweb", "zfw")):
        site = bulk_site(synthetic // 3, site_id=f"syn{n}", cms=cms)
        site.served_charset = "gbk" if cms == "hanweb" else "utf-8"
        out += [_case(site, i) for i in range(len(site.articles))]
    out += [
        Case(
            "https://www.spp.gov.cn/spp/xwfbh/202312/t20231213_636950.shtml",
            (FIXTURES / "spp_trs.html").read_bytes(),
            "最高检发布第五十批指导性案例",
            "2023-12-13",
            "12月13日,最高人民检察院以“依法惩治危害生产安全犯罪”为主题发布第五十批指导性案例。",
            "该负责人表示,检察机关要深入开展“安全生产检察监督专项行动”,依法严惩危害生产安全犯罪。",
        ),
        Case(
            "http://www.gs.jcy.gov.cn/art/2021/4/8/art_1_2.html",
            (FIXTURES / "hanweb_zoom.html").read_bytes(),
            "我省检察机关开展“检察为民办实事”实践活动",
            "2021-04-08",
            "4月7日,记者从甘肃省人民检察院获悉,全省检察机关深入开展“检察为民办实事”实践活动,推出12项具体举措。",
            "省检察院要求,各级检察机关要把实践活动与政法队伍教育整顿结合起来,切实解决群众急难愁盼问题。",
        ),
        Case(
            "http://www.chinapeace.gov.cn/chinapeace/c100007/2022-05/10/content_12625064.shtml",
            (FIXTURES / "chinapeace_plain.html").read_bytes(),
            "中央政法委召开全国政法队伍教育整顿总结会议",
            "2022-05-10",
            "5月10日,全国政法队伍教育整顿总结会议在京召开。会议全面总结政法队伍教育整顿工作,研究部署巩固深化教育整顿成果。",
            "会议强调,要坚持“严”的主基调,健全完善政法队伍建设长效机制,持续推进全面从严管党治警。",
        ),
    ]
    return out
