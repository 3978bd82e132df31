"""Any CMS: every known article URL shape, text-density fallback for the body."""

from crawler.adapters.base import Adapter, register


@register("generic")
class GenericAdapter(Adapter):
    pass
