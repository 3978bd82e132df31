"""The sources.yaml schema and its loader: a schema only, which imports nothing else of procwatch's
but durations, errors and secrets. Whether an adapter name resolves or a lexicon loads is checked by
:mod:`crawler.runtime`, which reports through :meth:`Config.issue` with the same file:line precision.

Validation errors point at the file and line the user has to edit, e.g.::

    sources.yaml:42: sources[3].schedule.every: expected a duration like '30m', got 'soon'
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from crawler.durations import format_duration, parse_duration
from crawler.errors import ConfigError, ConfigIssue
from crawler.secrets import has_variable, redacted

DEFAULT_CONFIG = Path("sources.yaml")
MAX_CONFIG_CHARS = 1_000_000  # thousands of sources fit in a tenth of this; the main file and its includes together
MAX_SOURCES = 10_000  # sources across all files: a hundred times the shipped set, still read in seconds
MAX_CONFIG_NODES = 200_000  # values after alias expansion
MAX_CONFIG_DEPTH = 32
CONFIG_ENV = "PROCWATCH_CONFIG"


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError(f"expected a duration like '30m', got {value!r}")


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return value


def _encoding(value: str) -> str:
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown character encoding {value!r}") from None
    return value


def _cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {value!r} ({exc})") from None
    return value


#: '30m' in the file, a timedelta in the program, '30m' again in JSON
Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
DIRECT = "direct"  # a source's proxy: none, whatever the settings say


def _proxy(value: str) -> str:
    value = value.strip()
    if value == DIRECT:
        return value
    parts = urlsplit(value)
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(
            f"expected a proxy URL ({', '.join(s + '://' for s in PROXY_SCHEMES)}host:port) or {DIRECT!r},"
            f" got {redacted(value)!r}"
        )
    if parts.password and not has_variable(parts.password):
        raise ValueError(
            f"write the proxy password as ${{VARIABLE}} and set it in the environment, not in this file"
            f" ({redacted(value)})"
        )
    try:
        parts.port  # noqa: B018 (a port that is not a number raises here)
    except ValueError:
        raise ValueError(f"the proxy's port is not a number: {redacted(value)!r}") from None
    return value


ProxyUrl = Annotated[str, AfterValidator(_proxy)]
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def _slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError(f"expected a short lowercase id of a-z, 0-9, '-' and '_', got {value!r}")
    return value


Slug = Annotated[str, AfterValidator(_slug)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Schedule(_Strict):
    """When a source is polled: a fixed interval with random jitter, or a cron expression (Beijing time)."""

    every: Duration | None = None
    jitter: Duration | None = None
    cron: Annotated[str, AfterValidator(_cron)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Schedule:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give either 'every' (e.g. 30m) or 'cron' (e.g. '*/20 8-22 * * *'), not both or neither")
        if self.cron is not None and self.jitter is not None:
            raise ValueError("'jitter' goes with 'every', not with 'cron'")
        return self

    def describe(self) -> str:
        if self.cron or self.every is None:
            return f"cron {self.cron}"
        return f"every {format_duration(self.every)}" + (f" ±{format_duration(self.jitter)}" if self.jitter else "")


class Selectors(_Strict):
    """CSS selectors that override the generic extraction for one source."""

    links: str | None = Field(None, description="article links on a list page")
    title: str | None = None
    published: str | None = Field(None, description="element whose text holds the publication date")
    body: str | None = None
    source_label: str | None = Field(None, description="element holding 来源")
    author: str | None = None
    drop: list[str] = Field(default_factory=list, description="elements removed from the body")


class Kind(StrEnum):
    procuratorate = "procuratorate"
    political_legal = "political-legal"
    media = "media"


class Level(StrEnum):
    national = "national"
    provincial = "provincial"
    municipal = "municipal"
    county = "county"


class FetchMode(StrEnum):
    """How a source's pages are fetched."""

    plain = "plain"  # HTTP only
    browser = "browser"  # every page rendered by the browser, its scripts run
    auto = "auto"  # HTTP; the browser passes a JavaScript challenge, whose cookies HTTP then reuses


class Source(_Strict):
    """One portal to watch."""

    id: Slug
    name: str = Field(min_length=1)
    adapter: str
    lists: list[HttpUrl] = Field(min_length=1)
    schedule: Schedule
    homepage: HttpUrl | None = None
    kind: Kind | None = None
    level: Level | None = None
    region: str | None = None
    tags: list[str] = Field(default_factory=list)
    encoding: Annotated[str, AfterValidator(_encoding)] | None = None
    verify_tls: bool = True
    robots: bool = True
    allow_private: bool = Field(False, description="may connect to loopback/private/link-local addresses")
    hosts: list[str] = Field(default_factory=list, description="further hosts its article links may be on")
    fetch: FetchMode = FetchMode.plain
    proxy: ProxyUrl | None = Field(
        None, description="http://, https://, socks5:// proxy for this source ('direct': none); ${VAR} for secrets"
    )
    selectors: Selectors = Field(default_factory=Selectors)
    enabled: bool = True

    @property
    def all_tags(self) -> list[str]:
        """Explicit tags plus region, kind and level, which feeds also group by."""
        extra = [str(v) for v in (self.region, self.kind, self.level) if v]
        return list(dict.fromkeys([*self.tags, *extra]))


class RecheckBand(_Strict):
    """Articles younger than ``younger_than`` are re-checked every ``every`` (``never`` to stop)."""

    younger_than: Duration
    every: Duration | None

    @model_validator(mode="before")
    @classmethod
    def _never(cls, data: Any) -> Any:
        if isinstance(data, dict) and str(data.get("every", "")).strip().lower() == "never":
            return {**data, "every": None}
        return data


# newsdiffs' rhythm: young articles often, old ones rarely, the oldest never.
DEFAULT_RECHECK = [
    RecheckBand(younger_than="3h", every="15m"),
    RecheckBand(younger_than="1d", every="1h"),
    RecheckBand(younger_than="7d", every="3h"),
    RecheckBand(younger_than="30d", every="3d"),
    RecheckBand(younger_than="365d", every="30d"),
]


class CaptureKeep(StrEnum):
    """Which responses are kept as served (WARC captures, storage.captures)."""

    every = "every"  # every new version and every removal
    changes = "changes"  # edits and removals only: an article's first version is not captured
    none = "none"


class BrowserSettings(_Strict):
    """The browser that passes JavaScript challenges (sources with ``fetch: browser`` or ``auto``)."""

    executable: str | None = Field(
        None, description="Chromium's path (default: $PROCWATCH_CHROMIUM, then chromium on PATH)"
    )
    pages: int = Field(2, ge=1, le=16, description="pages open at once")
    timeout: Duration = Field(timedelta(seconds=30), description="time to pass a challenge or render a page")
    idle: Duration = Field(timedelta(minutes=5), description="the browser is closed after this long unused")
    plain_again_after: Duration = Field(
        timedelta(hours=1),
        description="a host whose challenge cookies HTTP could not reuse is rendered by the browser this long",
    )


class Settings(_Strict):
    """Crawler-wide settings; every key is optional."""

    user_agent: str = "procwatch/0.1 (+https://github.com/procwatch/procwatch)"
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight across all hosts")
    min_delay: Duration = Field(timedelta(seconds=1), description="pause between two requests to the same host")
    timeout: Duration = timedelta(seconds=20)
    max_bytes: int = Field(10_000_000, ge=1024)
    max_redirects: int = Field(10, ge=0, le=30)
    retries: int = Field(3, ge=0, le=10)
    max_articles_per_crawl: int = Field(
        500, ge=1, description="articles one crawl fetches at most; the rest wait for the next run"
    )
    catch_up_pages: int = Field(
        5,
        ge=0,
        le=100,
        description="older list pages a crawl reads when a list's first page changed, while they show"
        " links not stored yet (articles pushed off the first page between crawls); 0: never",
    )
    proxy: ProxyUrl | None = Field(None, description="proxy for every source without its own; ${VAR} for secrets")
    captures: CaptureKeep = Field(
        CaptureKeep.every, description="keep the served response of every version, of changes only, or none"
    )
    browser: BrowserSettings = Field(default_factory=BrowserSettings)
    lexicon: str | None = Field(None, description="extra campaign lexicon (YAML), relative to this file")
    recheck: list[RecheckBand] = Field(default_factory=lambda: list(DEFAULT_RECHECK))
    recheck_within: Duration = Field(
        timedelta(days=7), description="every stored article, of any age, listed or not, is re-checked this often"
    )

    @property
    def recheck_schedule(self) -> list[tuple[timedelta, timedelta | None]]:
        """(maximum age, interval) pairs, youngest first; older articles are not re-checked."""
        bands = sorted(self.recheck, key=lambda b: b.younger_than)
        return [(b.younger_than, b.every) for b in bands]


class Trigger(StrEnum):
    """What a notification rule reacts to."""

    published = "published"  # a new article
    edited = "edited"  # an edit worth reporting (not a changed date line or counter)
    removed = "removed"
    restored = "restored"
    campaign = "campaign"  # a campaign named in a source for the first time (after its first crawl)
    emerging = "emerging"  # a name `campaigns emerging` proposes
    failing = "failing"  # a source failed ``failing_after`` runs in a row
    recovered = "recovered"  # ... and then succeeded


ARTICLE_TRIGGERS = (Trigger.published, Trigger.edited, Trigger.removed, Trigger.restored)
_HOURS = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)\s*-\s*([01]?\d|2[0-3]):([0-5]\d)$")


def _quiet_hours(value: str) -> str:
    if not _HOURS.match(value.strip()):
        raise ValueError(f"expected Beijing hours like '22:00-07:00', got {value!r}")
    return value.strip()


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc}): {value!r}") from None
    return value


class Rule(_Strict):
    """When to tell whom: triggers, filters, and immediate or digest delivery."""

    name: Slug
    events: list[Trigger] = Field(default_factory=lambda: list(ARTICLE_TRIGGERS), min_length=1)
    to: list[str] = Field(min_length=1, description="names of destinations")
    sources: list[str] = Field(default_factory=list, description="only these sources (ids)")
    tags: list[str] = Field(default_factory=list, description="only sources with one of these tags")
    levels: list[Level] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list)
    match: str | None = Field(None, description="the search query language, on title and body")
    regex: Annotated[str, AfterValidator(_regex)] | None = Field(None, description="on title and body")
    failing_after: int = Field(3, ge=1, le=1000, description="failed runs in a row that make a source 'failing'")
    digest: Duration | None = Field(None, description="collect into one message this often (none: at once)")
    quiet_hours: Annotated[str, AfterValidator(_quiet_hours)] | None = None

    @property
    def quiet(self) -> tuple[int, int] | None:
        """Quiet hours as minutes after Beijing midnight (start, end); None: never quiet."""
        if self.quiet_hours is None:
            return None
        h1, m1, h2, m2 = (int(g) for g in _HOURS.match(self.quiet_hours).groups())  # type: ignore[union-attr]
        return h1 * 60 + m1, h2 * 60 + m2


class Notify(_Strict):
    """Destinations (apprise URLs, by name) and the rules that send to them."""

    destinations: dict[Slug, str] = Field(
        default_factory=dict,
        description="apprise URLs (mailto://, json://, ntfy://, tgram:// ...); ${VAR} from the environment",
    )
    rules: list[Rule] = Field(default_factory=list)
    link: HttpUrl | None = Field(None, description="the web view's address for links in messages")
    news_within: Duration = Field(
        timedelta(days=7),
        description="a new article dated longer than this before procwatch found it is history (an old list"
        " page read for the first time): stored and in the feeds, not announced",
    )
    attempts: int = Field(8, ge=1, le=100, description="sends of one message before it is given up")
    retry: Duration = Field(timedelta(seconds=30), description="the pause after a failed send; doubles, at most 1h")
    timeout: Duration = timedelta(seconds=30)
    lease: Duration = Field(
        timedelta(minutes=10),
        description="how long a send that never reported back is left before another sender retries it",
    )


class Config(_Strict):
    sources: list[Source] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)
    notify: Notify = Field(default_factory=Notify)
    include: list[str] = Field(
        default_factory=list, description="further files of sources (glob patterns, relative to this file)"
    )
    path: Path | None = Field(None, exclude=True)
    _root: yaml.Node | None = PrivateAttr(None)  # the parsed document, to point issues at lines
    _name: str = PrivateAttr("sources.yaml")
    # per source: the file it came from, that file's document and its index there (for issues)
    _origins: list[tuple[str, yaml.Node | None, int]] = PrivateAttr(default_factory=list)

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)

    @property
    def lexicon_path(self) -> Path | None:
        """settings.lexicon, relative to the sources file."""
        if not self.settings.lexicon:
            return None
        base = self.path.parent if self.path else Path.cwd()
        return base / self.settings.lexicon

    @property
    def enabled_sources(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def issue(self, loc: Sequence[int | str], message: str) -> ConfigIssue:
        """A problem with the value at ``loc`` (e.g. ``("sources", 3, "adapter")``), located in the file
        that defines it (sources.yaml or one it includes)."""
        name, root = self._name, self._root
        if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int) and loc[1] < len(self._origins):
            name, root, local = self._origins[loc[1]]
            loc = ("sources", local, *loc[2:])
        return ConfigIssue(name, _line_of(root, loc), _field_name(loc), message)


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` if given, else ``$PROCWATCH_CONFIG``, else ``./sources.yaml``."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate a sources file. Raises ConfigError naming file, line and field."""
    path = config_path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigIssue(name, None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigIssue(name, None, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise ConfigError([ConfigIssue(name, None, "", exc.strerror or str(exc))]) from None
    config = parse_config(text, name, base=path)
    budget = _Budget()
    budget.take(name, text, len(config.sources))
    if config.include:
        _include(config, path, budget)
    return config


@dataclass
class _Budget:
    """What the main file and every file it includes may add up to: the per-file cap alone let a
    hundred includes of 100,000 sources take 100 s and 1.8 GB."""

    chars: int = 0
    sources: int = 0

    def take(self, name: str, text: str, sources: int) -> None:
        self.chars += len(text)
        self.sources += sources
        if self.chars > MAX_CONFIG_CHARS:
            message = f"the sources files, all files together, are over {MAX_CONFIG_CHARS:,} characters"
            raise ConfigError([ConfigIssue(name, None, "", message)])
        if self.sources > MAX_SOURCES:
            message = f"more than {MAX_SOURCES:,} sources in all files together"
            raise ConfigError([ConfigIssue(name, None, "", message)])


def _include(config: Config, path: Path, budget: _Budget) -> None:
    """Add the sources of every file the ``include`` patterns name (sorted, each file once), so users add
    portals in files of their own (``sources.d/mine.yaml``) without editing the shipped ones. An
    included file holds ``sources:`` only; a pattern without wildcards must name a file. Only files
    in the sources file's directory or below are read: an include is not a way to read /etc."""
    files: list[Path] = []
    home = path.parent.resolve()
    for index, pattern in enumerate(config.include):
        outside = config.issue(("include", index), f"{pattern}: outside {path.parent}/ (includes stay below it)")
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ConfigError([outside])
        try:
            matches = sorted(path.parent.glob(pattern))
        except (ValueError, NotImplementedError) as exc:
            raise ConfigError([config.issue(("include", index), f"{pattern}: not a usable pattern ({exc})")]) from None
        if any(not m.resolve().is_relative_to(home) for m in matches):
            raise ConfigError([outside])  # a symbolic link out of the directory
        if not matches and not any(c in pattern for c in "*?["):
            raise ConfigError([config.issue(("include", index), f"{pattern}: file not found")])
        files += [m for m in matches if m.is_file() and m.resolve() != path.resolve() and m not in files]
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([ConfigIssue(str(file), None, "", f"cannot read: {exc}")]) from None
        part = parse_config(text, str(file), base=file)
        budget.take(str(file), text, len(part.sources))
        extra = sorted(part.model_fields_set - {"sources", "path"})
        if extra:
            line = _line_of(part._root, (extra[0],))
            message = f"an included file holds 'sources:' only; {extra[0]!r} belongs in {path}"
            raise ConfigError([ConfigIssue(str(file), line, extra[0], message)])
        config.sources.extend(part.sources)
        config._origins.extend(part._origins)
    issues = list(_duplicate_ids(config))
    if issues:
        raise ConfigError(issues)


def parse_config(text: str, name: str = "sources.yaml", base: Path | None = None) -> Config:
    """Validate sources.yaml text; ``name`` is used in error messages."""
    if len(text) > MAX_CONFIG_CHARS:
        size = f"{len(text) / 1_000_000:.1f} million characters"
        raise ConfigError([ConfigIssue(name, None, "", f"{size}; a sources file is at most 1 million")])
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _check_size(root, name)  # before anything expands the aliases
        data = yaml.safe_load(text)
    except yaml.reader.ReaderError as exc:  # a NUL or control character: no mark, a character position
        position: int = exc.position
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        message = f"invalid YAML: control character U+{code:04X} is not allowed"
        raise ConfigError([ConfigIssue(name, text.count("\n", 0, position) + 1, "", message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError([ConfigIssue(name, line, "", f"invalid YAML: {exc.problem or exc}")]) from None
    except RecursionError:
        raise ConfigError([ConfigIssue(name, None, "", "nested too deeply to be a sources file")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigIssue(name, 1, "", "expected a mapping with a 'sources' list at the top")])
    issues = list(_duplicate_keys(root, name))
    if issues:
        raise ConfigError(issues)
    try:
        config = Config.model_validate({**data, "path": base})
    except ValidationError as exc:
        raise ConfigError([_issue(name, root, err) for err in exc.errors()]) from None
    config._root, config._name = root, name
    config._origins = [(name, root, index) for index in range(len(config.sources))]
    issues = list(_duplicate_ids(config))
    if issues:
        raise ConfigError(issues)
    return config


def _check_size(root: yaml.Node | None, name: str) -> None:
    """Refuse a document that expands into too many nodes or nests too deeply: YAML aliases can make a
    few lines stand for billions of values (an alias bomb), which would freeze whoever reads them."""
    stack: list[tuple[yaml.Node, int]] = [(root, 1)] if root is not None else []
    seen = 0
    while stack:
        node, depth = stack.pop()
        seen += 1
        if seen > MAX_CONFIG_NODES or depth > MAX_CONFIG_DEPTH:
            line = node.start_mark.line + 1
            what = (
                f"more than {MAX_CONFIG_NODES:,} values once aliases are expanded"
                if seen > MAX_CONFIG_NODES
                else (f"nested deeper than {MAX_CONFIG_DEPTH} levels")
            )
            raise ConfigError([ConfigIssue(name, line, "", f"{what}; a sources file is not that big")])
        if isinstance(node, yaml.MappingNode):
            stack.extend((part, depth + 1) for pair in node.value for part in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _duplicate_ids(config: Config) -> Iterable[ConfigIssue]:
    seen: dict[str, int] = {}
    for index, source in enumerate(config.sources):
        if source.id in seen:
            first_file, _, first_index = config._origins[seen[source.id]]
            yield config.issue(
                ("sources", index, "id"),
                f"duplicate id {source.id!r} (already used by sources[{first_index}] in {first_file})",
            )
        seen.setdefault(source.id, index)


def _duplicate_keys(node: yaml.Node | None, name: str) -> Iterable[ConfigIssue]:
    # PyYAML keeps the last of two equal keys silently; a user who writes `lists:` twice wants to know.
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key, value in node.value:
            if key.value in keys:
                yield ConfigIssue(name, key.start_mark.line + 1, str(key.value), "duplicate key")
            keys.add(key.value)
            yield from _duplicate_keys(value, name)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item, name)


def _field_name(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    node, line = root, (root.start_mark.line + 1 if root else None)
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next(((k, v) for k, v in node.value if k.value == part), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _issue(name: str, root: yaml.Node | None, err: Any) -> ConfigIssue:
    loc = [p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or ("-" in p and p.startswith("function"))))]
    kind, message = err["type"], err["msg"]
    if kind == "extra_forbidden":
        message = f"unknown key {loc[-1]!r}"
        parent = _model_for(loc[:-1])
        if parent is not None:
            message += f" (allowed: {', '.join(parent.model_fields)})"
    elif kind == "missing":
        message = "required field is missing"
    elif message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    elif "input" in err and kind not in ("model_type", "list_type", "dict_type"):
        message = f"{message[0].lower()}{message[1:]}, got {err['input']!r}"
    else:
        message = message[0].lower() + message[1:]
    return ConfigIssue(name, _line_of(root, loc), _field_name(loc), message)


def _model_for(loc: Sequence[int | str]) -> type[BaseModel] | None:
    model: Any = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            return None
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if model is None:
            return None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None
