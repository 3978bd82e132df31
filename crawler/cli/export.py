"""``procwatch export``: the archive as a dataset (JSON Lines, CSV, Parquet, with a datapackage.json),
or its captures as one WARC file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from crawler.cli.app import (
    USAGE_EXIT,
    ConfigOption,
    DbOption,
    console,
    err_console,
    fail,
    open_store,
    option_date,
    read_config,
)

if TYPE_CHECKING:
    from storage.export import Selection

export_app = typer.Typer(help="Export the archive for other tools.", no_args_is_help=True)
SourceOption = Annotated[list[str] | None, typer.Option("--source", metavar="ID", help="only this source (repeatable)")]
SinceOption = Annotated[str | None, typer.Option(help="only articles first seen on or after DATE")]
UntilOption = Annotated[str | None, typer.Option(help="only articles first seen on or before DATE")]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", metavar="TAG", help="only sources with this tag, region, kind or level")
]


def _selection(
    sources: list[str] | None, tags: list[str] | None, since: str | None, until: str | None, config: Path | None
) -> Selection:
    """The articles to export: of these sources and of the sources with these tags (sources.yaml's)."""
    from storage.export import Selection

    chosen = list(sources or ())
    if tags:
        loaded = read_config(config)
        for tag in tags:
            tagged = [s.id for s in loaded.sources if tag in s.all_tags]
            if not tagged:
                fail(f"--tag: no configured source has tag {tag!r}", USAGE_EXIT)
            chosen += tagged
    return Selection(tuple(dict.fromkeys(chosen)), option_date(since, "--since"), option_date(until, "--until"))


@export_app.command("dataset")
def dataset_command(
    out: Annotated[Path, typer.Option("--out", help="directory to write (made if missing)")],
    format: Annotated[str, typer.Option("--format", help="jsonl, csv or parquet")] = "csv",
    source: SourceOption = None,
    tag: TagOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Articles, versions, events, campaigns, mentions and captures, one file each, with a Frictionless
    datapackage.json describing every column (pandas, R or frictionless load it in one line)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from storage.errors import ExportError
    from storage.export import Format, count_rows, export_dataset

    try:
        chosen_format = Format(format)
    except ValueError:
        fail(f"--format: expected jsonl, csv or parquet, got {format!r}", USAGE_EXIT)
    if out.exists() and not out.is_dir():
        fail(f"--out: {out} exists and is not a directory", USAGE_EXIT)
    store = open_store(db)
    selection = _selection(source, tag, since, until, config)
    totals = count_rows(store.engine, selection)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        tasks = {name: progress.add_task(name, total=total) for name, total in totals.items()}
        try:
            written = export_dataset(
                store.engine, out, chosen_format, selection, lambda name, n: progress.update(tasks[name], completed=n)
            )
        except ExportError as exc:
            fail(f"procwatch: {exc}", USAGE_EXIT)
    for name, rows in written.items():
        console.print(f"{out / f'{name}.{chosen_format}'}: {rows:,} rows")
    console.print(f"{out / 'datapackage.json'}: the data dictionary")


@export_app.command("warc")
def warc_command(
    out: Annotated[Path, typer.Option("--out", help="the .warc.gz file to write")],
    source: SourceOption = None,
    tag: TagOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The selected articles' captures (every version and removal as served) in one .warc.gz."""
    from storage.export import export_warc

    if out.is_dir():
        fail(f"--out: {out} is a directory; give a file name such as archive.warc.gz", USAGE_EXIT)
    store = open_store(db)
    partial = out.with_name(out.name + ".part")
    with partial.open("wb") as handle:
        records = export_warc(store.evidence, handle, _selection(source, tag, since, until, config))
    partial.replace(out)  # a reader never sees half a file
    console.print(f"{out}: {records:,} records")


@export_app.command("wacz")
def wacz_command(
    out: Annotated[Path, typer.Option("--out", help="the .wacz file to write")],
    source: SourceOption = None,
    tag: TagOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The selected captures as a WACZ, which ReplayWeb.page and pywb open (pip install 'procwatch[export]')."""
    from storage.errors import ExportError
    from storage.export import export_wacz

    if out.is_dir():
        fail(f"--out: {out} is a directory; give a file name such as archive.wacz", USAGE_EXIT)
    store = open_store(db)
    try:
        records = export_wacz(store.evidence, out, _selection(source, tag, since, until, config))
    except ExportError as exc:
        fail(f"procwatch: {exc}", USAGE_EXIT)
    console.print(f"{out}: {records:,} records")
