"""sources.yaml checked beyond its schema: every adapter name resolves and the user's lexicon loads.

Kept apart from the runtime so that commands which only read the configuration (``procwatch
sources``) check it completely without loading the fetcher, the extractor or the database.
"""

from __future__ import annotations

from pathlib import Path

from crawler.adapters.loading import exists
from crawler.campaigns.lexicon import load_lexicon
from crawler.config import Config, load_config
from crawler.errors import AdapterNotFound, ConfigError, ConfigIssue, LexiconError


def check_config(config: Config) -> list[ConfigIssue]:
    """What the schema cannot know: every adapter resolves and the user's lexicon loads."""
    issues = []
    if config.lexicon_path is not None:
        try:
            load_lexicon(config.lexicon_path)
        except LexiconError as exc:
            issues.append(config.issue(("settings", "lexicon"), str(exc)))
    for index, source in enumerate(config.sources):
        try:
            exists(source.adapter, search=search_path(config))
        except AdapterNotFound as exc:
            issues.append(config.issue(("sources", index, "adapter"), str(exc)))
    return issues


def load(path: str | Path | None = None) -> Config:
    """Read sources.yaml and check it completely; ConfigError names the file, line and field."""
    config = load_config(path)
    issues = check_config(config)
    if issues:
        raise ConfigError(issues)
    return config




def search_path(config: Config) -> list[Path]:
    """Where adapters named by import path are looked for besides sys.path: beside sources.yaml."""
    return [config.path.parent.resolve()] if config.path else []
