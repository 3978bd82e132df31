"""What "emerging" means unless asked otherwise: a name in no lexicon, first seen within the window,
already taken up by this many sources. One definition for the command, the feed and the web view."""

from __future__ import annotations

from datetime import timedelta

EMERGING_WINDOW = timedelta(days=30)
EMERGING_MIN_SOURCES = 2
