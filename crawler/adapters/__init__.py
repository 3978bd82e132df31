"""Site adapters, named by the ``adapter:`` key in sources.yaml.

Built in: ``trs``, ``hanweb``, ``generic`` and ``feed``. A site that configuration cannot describe
gets a small subclass of :class:`Adapter`: decorated with :func:`register` inside procwatch, or
outside it named by import path or entry point (see :func:`resolve` and docs/adapters.md).
Names load on first use: checking that an adapter name exists does not load the extractor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.adapters.loading import ENTRY_POINT_GROUP, builtin, resolve
from crawler.errors import AdapterNotFound
from crawler.lazy import lazy_exports

if TYPE_CHECKING:
    from crawler.adapters.base import Adapter, ListPage, register, registry

_EXPORTS = {name: "crawler.adapters.base" for name in ("Adapter", "ListPage", "register", "registry")}
__all__ = ["ENTRY_POINT_GROUP", "Adapter", "AdapterNotFound", "ListPage", "builtin", "register", "registry", "resolve"]
__getattr__ = lazy_exports(__name__, _EXPORTS)
