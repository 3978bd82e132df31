"""The campaign extractor a crawl uses: the shipped lexicon plus the one named in settings.lexicon."""

from __future__ import annotations

from crawler.campaigns.extract import CampaignExtractor
from crawler.campaigns.lexicon import load_lexicon
from crawler.config import Config


def extractor_for(config: Config) -> CampaignExtractor:
    return CampaignExtractor(load_lexicon(config.lexicon_path))
