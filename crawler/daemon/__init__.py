"""``procwatch run``: the long-running daemon (APScheduler on one machine, procrastinate in a cluster)."""
