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
    return issues + _notify_issues(config)


def _notify_issues(config: Config) -> list[ConfigIssue]:
    """Every destination is a URL apprise can send to; every rule names destinations and sources that
    exist, and its ``match`` is a query the search language runs."""
    from crawler.notify.destinations import problem
    from storage.errors import QueryError
    from storage.search_terms import parse

    notify, issues = config.notify, []
    for name, url in notify.destinations.items():
        if (why := problem(url)) is not None:
            issues.append(config.issue(("notify", "destinations", name), why))
    known = {source.id for source in config.sources}
    for index, rule in enumerate(notify.rules):
        for position, name in enumerate(rule.to):
            if name not in notify.destinations:
                listed = ", ".join(notify.destinations) or "none is defined under notify.destinations"
                issues.append(
                    config.issue(("notify", "rules", index, "to", position), f"no destination {name!r} ({listed})")
                )
        for position, source_id in enumerate(rule.sources):
            if source_id not in known:
                issues.append(config.issue(("notify", "rules", index, "sources", position), f"no source {source_id!r}"))
        if rule.match is not None:
            try:
                parse(rule.match)
            except QueryError as exc:
                issues.append(config.issue(("notify", "rules", index, "match"), str(exc)))
    names = [rule.name for rule in notify.rules]
    for index, name in enumerate(names):
        if name in names[:index]:
            issues.append(config.issue(("notify", "rules", index, "name"), f"duplicate rule name {name!r}"))
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
