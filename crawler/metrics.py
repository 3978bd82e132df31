"""Prometheus metrics (prometheus-client) for fetches, articles, versions and source health."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from crawler.pipeline import ArticleOutcome, CrawlReport, FetchLog


class Metrics:
    """One registry per daemon, so tests and several daemons in one process do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "procwatch_fetches_total", "HTTP fetches by outcome", ["source", "outcome"], registry=self.registry
        )
        self.latency = Histogram(
            "procwatch_fetch_seconds",
            "Fetch latency",
            ["source"],
            registry=self.registry,
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
        )
        self.new_articles = Counter(
            "procwatch_new_articles_total", "New articles stored", ["source"], registry=self.registry
        )
        self.new_versions = Counter(
            "procwatch_new_versions_total", "New versions of known articles", ["source"], registry=self.registry
        )
        self.blocked = Counter(
            "procwatch_blocked_pages_total",
            "Pages answered with an anti-bot challenge",
            ["source"],
            registry=self.registry,
        )
        self.crawls = Counter(
            "procwatch_crawls_total", "Crawls by result", ["source", "result"], registry=self.registry
        )
        self.last_success = Gauge(
            "procwatch_source_last_success_timestamp_seconds",
            "Unix time of the last successful crawl",
            ["source"],
            registry=self.registry,
        )

    def observe_fetch(self, entry: FetchLog) -> None:
        self.fetches.labels(entry.source, entry.outcome).inc()
        self.latency.labels(entry.source).observe(entry.elapsed)
        if entry.outcome == "blocked":
            self.blocked.labels(entry.source).inc()

    def observe_report(self, report: CrawlReport) -> None:
        self.new_articles.labels(report.source).inc(report.count(ArticleOutcome.new))
        self.new_versions.labels(report.source).inc(report.count(ArticleOutcome.changed))
        self.crawls.labels(report.source, "ok" if report.ok else "failed").inc()
        if report.ok and report.finished:
            self.last_success.labels(report.source).set(report.finished.timestamp())

    def exposition(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its media type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
