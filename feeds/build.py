"""Static feeds for any web server: NAME.xml (RSS) and NAME.atom, feeds.opml, index.html and feed.xsl."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from feeds.catalog import SourceCatalog, catalog
from feeds.items import FeedQuery, items_for
from feeds.render import STYLESHEET_NAME, index_html, opml, render_feed, stylesheet
from storage import Store


def _write_atomically(path: Path, data: bytes) -> None:
    # A reader fetching during a rebuild must never see half a file.
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def build_feeds(
    store: Store, config: SourceCatalog, out: Path, *, base_url: str, query: FeedQuery | None = None
) -> list[Path]:
    """Write every feed under ``out``; returns the files written."""
    query = query or FeedQuery()
    specs = catalog(config)
    written = []
    for spec in specs:
        items = items_for(store, config, spec, query)
        for fmt, extension in (("rss", "xml"), ("atom", "atom")):
            path = out / f"{spec.path}.{extension}"
            _write_atomically(path, render_feed(spec, items, fmt, base_url))
            written.append(path)
    others = (
        ("feeds.opml", opml(specs, base_url)),
        ("index.html", index_html(specs, base_url)),
        (STYLESHEET_NAME, stylesheet()),
    )
    for name, data in others:
        _write_atomically(out / name, data)
        written.append(out / name)
    return written
