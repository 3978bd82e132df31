"""Run the campaign extractor on every new or changed article version as it is stored."""

from __future__ import annotations

from crawler.campaigns.extract import CampaignExtractor
from crawler.campaigns.lexicon import load_lexicon
from crawler.config import Config, Source
from crawler.extract import ExtractedArticle
from crawler.pipeline import AfterRecord, ArticleResult
from storage import Store
from storage.types import utcnow


def extractor_for(config: Config) -> CampaignExtractor:
    """The extractor with the shipped lexicon plus the one named in settings.lexicon."""
    return CampaignExtractor(load_lexicon(config.lexicon_path))


def campaign_hook(store: Store, config: Config, extractor: CampaignExtractor | None = None) -> AfterRecord:
    extractor = extractor or extractor_for(config)

    def record(source: Source, article: ExtractedArticle, result: ArticleResult) -> None:
        # A republication (no version of its own) still counts for the source's timeline.
        if result.article_id is None:
            return
        mentions = extractor.extract(article.title + "\n" + article.body_text)
        if mentions:
            store.record_mentions(
                article_id=result.article_id,
                version_id=result.version_id,
                source_id=source.id,
                mentions=mentions,
                published_at=article.published_at or utcnow(),
            )

    return record
