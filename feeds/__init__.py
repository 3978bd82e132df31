"""procwatch's output: RSS 2.0 and Atom feeds, static or served, with campaigns highlighted."""

from feeds.catalog import FeedSpec, catalog
from feeds.items import FeedItem, FeedQuery, items_for
from feeds.render import render_feed

__all__ = ["FeedItem", "FeedQuery", "FeedSpec", "catalog", "items_for", "render_feed"]
