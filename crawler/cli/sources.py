"""``procwatch sources``: what is configured."""

from __future__ import annotations

from rich.table import Table

from crawler.cli.app import ConfigOption, JsonOption, app, console, print_json, read_config


@app.command("sources")
def sources_command(config: ConfigOption = None, json: JsonOption = False) -> None:
    """List the configured sources (and validate sources.yaml)."""
    loaded = read_config(config)
    if json:
        print_json([source.model_dump(mode="json") for source in loaded.sources])
        return
    table = Table("id", "name", "adapter", "lists", "schedule", "enabled", title=f"{len(loaded.sources)} sources")
    for source in loaded.sources:
        table.add_row(
            source.id,
            source.name,
            source.adapter,
            "\n".join(source.lists),
            source.schedule.describe(),
            "yes" if source.enabled else "no",
        )
    console.print(table)
