"""The web view: pages for people over the same archive the feeds are built from."""
