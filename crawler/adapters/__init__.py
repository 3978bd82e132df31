"""Site adapters, registered by name (the ``adapter:`` key in sources.yaml).

Built in: ``trs``, ``hanweb``, ``generic`` and ``feed``. A site that configuration cannot describe
gets a small subclass of :class:`Adapter` decorated with :func:`register`.
"""

from crawler.adapters import feed, generic, hanweb, trs  # noqa: F401  (register the built-ins)
from crawler.adapters.base import Adapter, ListPage, register, registry

__all__ = ["Adapter", "ListPage", "register", "registry"]
