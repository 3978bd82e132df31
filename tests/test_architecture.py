"""The layers point one way and no module imports itself in a circle.

storage <- feeds <- crawler: storage knows nothing of crawling or feeds, feeds know storage and a
source catalog but not sources.yaml, and sources.yaml's schema (crawler.config) imports nothing of
procwatch's but durations. Read from the source with ``ast``, so the check costs no imports.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("crawler", "storage", "feeds")


def modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if "migrations" not in parts:
                out[".".join(parts)] = path
    return out


MODULES = modules()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif node.module and not node.level:
        yield node.module
        yield from (f"{node.module}.{alias.name}" for alias in node.names)


def imports(name: str, *, eager_only: bool) -> set[str]:
    """procwatch modules ``name`` imports: at import time only (eager), or anywhere (incl. functions)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(t for t in _targets(node) if t in MODULES)
            elif isinstance(node, ast.If):
                if not (eager_only and _type_checking(node)):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif not eager_only:
                visit([child for child in ast.walk(node) if isinstance(child, ast.Import | ast.ImportFrom)])

    visit(tree.body)
    found.discard(name)
    return found


def test_storage_imports_neither_the_crawler_nor_the_feeds() -> None:
    bad = {m: sorted(i for i in imports(m, eager_only=False) if i.split(".")[0] != "storage") for m in MODULES}
    assert {m: i for m, i in bad.items() if m.startswith("storage") and i} == {}


def test_feeds_import_storage_but_not_the_crawler() -> None:
    bad = {m: sorted(i for i in imports(m, eager_only=False) if i.startswith("crawler")) for m in MODULES}
    assert {m: i for m, i in bad.items() if m.startswith("feeds") and i} == {}


def test_the_config_schema_imports_nothing_of_procwatch_but_durations_errors_and_secrets() -> None:
    # secrets: a proxy URL's password is refused, and shown redacted, while the file is read
    assert imports("crawler.config", eager_only=False) <= {"crawler.durations", "crawler.errors", "crawler.secrets"}
    assert imports("crawler.secrets", eager_only=False) <= {"crawler.errors"}
    assert imports("crawler.errors", eager_only=False) <= {"storage.errors"}


def test_no_import_cycle() -> None:
    graph = {name: imports(name, eager_only=True) for name in MODULES}
    # Tarjan's strongly connected components: a component of more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    assert cycles == []


def test_the_check_sees_imports() -> None:
    # guard against a check that passes because it reads nothing
    assert "storage.writer" in imports("storage.store", eager_only=True)
    assert "crawler.runtime" in imports("crawler.cli.fetch", eager_only=False)
    assert "crawler.runtime" not in imports("crawler.cli.fetch", eager_only=True)  # imported when the command runs


def third_party_imports() -> dict[str, set[str]]:
    """Top-level names of everything the packages import (migrations included) that is neither
    procwatch's own nor the standard library, with the modules importing each."""
    import sys

    found: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in PACKAGES and top not in sys.stdlib_module_names:
                        found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def declared_distributions() -> dict[str, set[str]]:
    """pyproject.toml's requirements by group: runtime ('') and each extra, as normalised names."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"": project["dependencies"], **project.get("optional-dependencies", {})}
    name = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
    return {
        group: {name.match(r).group(0).lower().replace("_", "-") for r in requirements if name.match(r)}  # type: ignore[union-attr]
        for group, requirements in groups.items()
    }


def test_every_third_party_import_is_declared() -> None:
    """A module imported directly is a declared dependency, not something another package happens to
    bring along (sqlalchemy through sqlmodel, httpcore through httpx): a release of theirs may drop it."""
    from importlib.metadata import packages_distributions

    providers = packages_distributions()
    declared = declared_distributions()
    runtime = declared[""]
    optional = set().union(*(names for group, names in declared.items() if group))
    # imported only where the extra that declares it is installed (PostgreSQL, the benchmark peers, the browser)
    optional_only = {"psycopg", "procrastinate", "trafilatura", "gne", "scrapy", "playwright", "pyarrow", "wacz", "boto3"}
    missing = {}
    for module, where in sorted(third_party_imports().items()):
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        allowed = runtime | (optional if module in optional_only else set())
        if not distributions & allowed:
            missing[module] = sorted(where)
    assert missing == {}, f"imported but not declared in pyproject.toml: {missing}"


# -- one write path ------------------------------------------------------------------------------

ARCHIVE_MODELS = {"Article", "ArticleVersion", "ARTICLE", "VERSION"}
ARCHIVE_SQL = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:article|article_version)\b", re.IGNORECASE)
WRITER = "storage.writer"


def _names_archive_table(node: ast.expr) -> bool:
    """``Article``, ``VERSION``, ``Article.__table__`` and the like."""
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        node = node.value
    if isinstance(node, ast.Call) and node.args:  # cast(Table, Article.__table__)
        return any(_names_archive_table(arg) for arg in node.args)
    return isinstance(node, ast.Name) and node.id in ARCHIVE_MODELS


def archive_writes(name: str) -> list[str]:
    """Where module ``name`` writes articles or versions: INSERT/UPDATE/DELETE statements on their tables,
    ORM objects of them created, or such SQL spelled out."""
    found = []
    for node in ast.walk(ast.parse(MODULES[name].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            func = node.func
            verb = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            target = node.args[0] if node.args else None
            if isinstance(func, ast.Attribute) and verb in {"insert", "update", "delete"} and not node.args:
                target = func.value  # ARTICLE.insert()
            if verb in {"insert", "update", "delete"} and target is not None and _names_archive_table(target):
                found.append(f"{name}:{node.lineno}: {verb}")
            elif isinstance(func, ast.Name) and func.id in {"Article", "ArticleVersion"}:
                found.append(f"{name}:{node.lineno}: {func.id}(...)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and ARCHIVE_SQL.search(node.value):
            found.append(f"{name}:{node.lineno}: SQL")
    return found


def test_no_module_but_the_writer_writes_articles_or_versions() -> None:
    assert archive_writes(WRITER), "the check finds nothing in the writer itself: it reads nothing"
    others = [where for name in MODULES if name != WRITER for where in archive_writes(name)]
    assert others == []


# -- one exception root --------------------------------------------------------------------------


def test_every_exception_procwatch_defines_derives_from_one_root() -> None:
    import importlib
    import inspect

    from storage.errors import ProcwatchError

    defined = []
    for name in sorted(MODULES):
        if name.endswith("__main__"):  # runs the CLI when imported
            continue
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException):
                defined.append(cls)
    assert len(defined) >= 20, "the check finds too few exceptions: it reads nothing"
    assert sorted(c.__qualname__ for c in defined if not issubclass(c, ProcwatchError)) == []
    # and each is defined in its layer's errors module, where the tree is documented
    assert {c.__module__ for c in defined} == {"storage.errors", "crawler.errors", "feeds.errors"}
