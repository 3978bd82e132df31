"""``procwatch notify``: try a rule's destinations, see what was sent, send what waits."""

from __future__ import annotations

import asyncio
import difflib
from typing import Annotated

import typer

from crawler.cli.app import (
    FAILED,
    USAGE_EXIT,
    ConfigOption,
    DbOption,
    JsonOption,
    console,
    fail,
    open_store,
    print_json,
    read_config,
)
from crawler.dates import beijing_iso

notify_app = typer.Typer(help="Notification rules (notify: in sources.yaml): test, log, send.", no_args_is_help=True)


@notify_app.command("test")
def test_command(
    rule: Annotated[str, typer.Argument(help="a rule's name (notify.rules[].name)")],
    config: ConfigOption = None,
) -> None:
    """Send a sample message to each destination of RULE now; exit 1 if one did not take it."""
    from crawler.notify.notifier import send_sample

    loaded = read_config(config)
    names = [r.name for r in loaded.notify.rules]
    if rule not in names:
        close = difflib.get_close_matches(rule, names, n=3, cutoff=0.5)
        hint = f"; did you mean: {', '.join(close)}?" if close else f"; rules: {', '.join(names) or 'none'}"
        fail(f"procwatch notify test: no rule {rule!r}{hint}", USAGE_EXIT)
    results = send_sample(loaded, rule)
    for destination, error in results:
        console.print(f"{destination}: " + ("sent" if error is None else f"FAILED: {error}"), markup=False)
    if any(error is not None for _, error in results):
        raise typer.Exit(FAILED)


@notify_app.command("log")
def log_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=10_000)] = 50,
    status: Annotated[
        str | None, typer.Option("--status", help="only pending, sending, sent or failed", show_default=False)
    ] = None,
    json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """What was sent, what waits and what failed (and why), newest first."""
    if status is not None and status not in ("pending", "sending", "sent", "failed"):
        fail(f"--status: expected pending, sending, sent or failed, got {status!r}", USAGE_EXIT)
    store = open_store(db)
    rows = store.outbox.log(limit=limit, status=status)
    if json:
        print_json(
            [
                {
                    "id": r.id,
                    "rule": r.rule,
                    "destination": r.destination,
                    "status": r.status,
                    "attempts": r.attempts,
                    "due_at": beijing_iso(r.due_at),
                    "sent_at": beijing_iso(r.sent_at),
                    "error": r.last_error,
                    "kind": r.kind,
                    "source": r.source_id,
                    "title": r.title,
                }
                for r in rows
            ]
        )
        return
    if not rows:
        console.print("nothing sent yet", markup=False)
        return
    for r in rows:
        when = beijing_iso(r.sent_at or r.due_at)
        line = f"{when}  {r.status:<7} {r.rule} -> {r.destination}  {r.kind} {r.source_id or ''} {r.title or ''}"
        console.print(line.rstrip(), markup=False)
        if r.last_error and r.status != "sent":
            console.print(f"    attempt {r.attempts}: {r.last_error}", markup=False)


@notify_app.command("send")
def send_command(config: ConfigOption = None, db: DbOption = None) -> None:
    """Dispatch the outbox and send what is due now, once (what a running daemon does by itself):
    for a machine where `procwatch fetch` runs from cron."""
    from crawler.notify.notifier import Notifier

    loaded = read_config(config)
    store = open_store(db)
    sent = asyncio.run(Notifier(store, lambda: loaded).round())
    failed = [r for r in store.outbox.log(limit=1000) if r.status != "sent" and r.last_error]
    console.print(
        f"{sent} sent" + (f"; {len(failed)} waiting after a failure (procwatch notify log)" if failed else ""),
        markup=False,
    )
