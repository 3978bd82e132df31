"""``procwatch verify``: the captures checked against the archive, both ways, digests included."""

from __future__ import annotations

import typer

from crawler.cli.app import FAILED, DbOption, JsonOption, app, console, open_store, print_json


@app.command("verify")
def verify_command(db: DbOption = None, json: JsonOption = False) -> None:
    """Check every capture: each version's and removal's record is where its row says, with the
    payload digest it was stored with; records no row points at are counted. Reads only; exits 1
    when a record is missing or altered."""
    store = open_store(db)
    found = store.evidence.verify()
    if json:
        print_json(
            {
                "ok": found.ok,
                "directory": store.evidence.files.location,
                "checked": found.checked,
                "missing": found.missing,
                "altered": found.altered,
                "unreferenced": found.unreferenced,
                "uncaptured_versions": found.uncaptured_versions,
            }
        )
    else:
        console.print(f"captures in {store.evidence.files.location}: {found.checked} checked")
        for line in found.missing:
            console.print(f"[red]missing[/]: {line}", markup=True, highlight=False)
        for line in found.altered:
            console.print(f"[red]altered[/]: {line}", markup=True, highlight=False)
        if found.unreferenced:
            console.print(
                f"{found.unreferenced} records no version or removal points at (a crawl stopped between"
                " writing the record and storing its version, or the page stored nothing new)"
            )
        if found.uncaptured_versions:
            console.print(f"{found.uncaptured_versions} versions have no capture (stored before captures existed)")
        console.print("ok" if found.ok else f"[red]{len(found.missing)} missing, {len(found.altered)} altered[/]")
    if not found.ok:
        raise typer.Exit(FAILED)
