"""procwatch's output: RSS 2.0 and Atom feeds, static or served, with campaigns highlighted.

Modules: catalog (which feeds exist), items (what goes in them), render (RSS/Atom/OPML), build (static
files), server (HTTP), diff (showing changes), safety (sanitising).
"""
