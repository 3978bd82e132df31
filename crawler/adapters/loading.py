"""Finding an adapter class by the name sources.yaml gives it.

Three spellings, tried in this order (urlwatch's registries, plus setuptools entry points):

* a built-in name: ``trs``, ``hanweb``, ``generic``, ``feed``;
* a name another installed package registers in the ``procwatch.adapters`` entry-point group;
* an import path, ``mypkg.sites:ProvinceAdapter``, importable from ``sys.path`` or from the
  directory that holds sources.yaml.
"""

from __future__ import annotations

import functools
import importlib
import re
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.errors import AdapterNotFound

if TYPE_CHECKING:
    from crawler.adapters.base import Adapter

ENTRY_POINT_GROUP = "procwatch.adapters"
_REGISTERED = re.compile(r"""^@register\(\s*["']([\w.-]+)["']\s*\)""", re.MULTILINE)


def builtin() -> dict[str, str]:
    """The built-in adapters' names and the modules that register them, read from the
    ``@register("name")`` lines of this package's modules without importing them: a new module with
    its decorator is all a built-in adapter needs (there was a second, hand-kept map)."""
    import crawler.adapters as package

    return dict(_registered_in(package.__name__, tuple(package.__path__)))


@functools.lru_cache(maxsize=8)  # once per process and package path: sources.yaml asks for every source
def _registered_in(package: str, directories: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    found: dict[str, str] = {}
    for directory in directories:
        for module in sorted(Path(directory).glob("*.py")):
            for name in _REGISTERED.findall(module.read_text(encoding="utf-8")):
                found.setdefault(name, f"{package}.{module.stem}")
    return tuple(found.items())


def resolve(name: str, *, search: Sequence[Path] = ()) -> type[Adapter]:
    """The adapter class for ``name``; ``search``: extra directories for import paths (sources.yaml's)."""
    from crawler.adapters.base import Adapter, registry

    if name in registry:
        return registry[name]
    modules = builtin()
    if name in modules:
        importlib.import_module(modules[name])  # registers itself
        return registry[name]
    if ":" in name:
        found = _imported(name, search)
    else:
        matches = entry_points(group=ENTRY_POINT_GROUP, name=name)
        if not matches:
            known = ", ".join(sorted(modules))
            raise AdapterNotFound(
                f"unknown adapter {name!r} (built in: {known}; or an installed package's {ENTRY_POINT_GROUP!r} "
                "entry point, or an import path like 'mypkg.module:MyAdapter')"
            )
        entry = next(iter(matches))
        try:
            found = entry.load()
        except Exception as exc:
            raise AdapterNotFound(f"adapter {name!r} ({entry.value}) cannot be loaded: {_reason(exc)}") from None
    if not (isinstance(found, type) and issubclass(found, Adapter)):
        raise AdapterNotFound(f"adapter {name!r} is {found!r}, not a subclass of crawler.adapters.Adapter")
    registry[name] = found  # resolved once per process
    return found


def exists(name: str, *, search: Sequence[Path] = ()) -> None:
    """Raise AdapterNotFound unless ``name`` resolves; a built-in name is known without importing it."""
    if name not in builtin():
        resolve(name, search=search)


def _imported(path: str, search: Sequence[Path]) -> object:
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise AdapterNotFound(f"adapter {path!r}: expected 'module.path:ClassName'")
    extra = [str(directory) for directory in search if str(directory) not in sys.path]
    sys.path[:0] = extra
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise AdapterNotFound(f"adapter {path!r}: cannot import {module_name!r}: {_reason(exc)}") from None
    finally:
        for directory in extra:
            sys.path.remove(directory)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise AdapterNotFound(f"adapter {path!r}: module {module_name!r} has no {attribute!r}") from None


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]
