"""The feed kinds: one module each, registered by its ``@feed_kind`` line (feeds.catalog).

A new kind is a new module here with one builder function and that line: its feed then appears in
the static build, the server, the OPML and the index. Every module of this package is imported the
first time the kinds are asked for (:func:`feeds.catalog.kinds`).
"""
