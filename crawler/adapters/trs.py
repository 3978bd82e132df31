"""TRS WCM sites (最高人民检察院, most *.jcy.gov.cn): ``/202211/t20221130_3898030.shtml``, ``createPageHTML``."""

from crawler.adapters.base import Adapter, register
from crawler.listing import TRS_ARTICLE


@register("trs")
class TrsAdapter(Adapter):
    article_patterns = (TRS_ARTICLE,)
