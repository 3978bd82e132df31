"""Campaign and formulation detection over article text."""

from crawler.campaigns.extract import CampaignExtractor, Mention, extract_campaigns, prepare
from crawler.campaigns.lexicon import Lexicon, LexiconError, builtin_lexicon, load_lexicon

__all__ = [
    "CampaignExtractor",
    "Lexicon",
    "LexiconError",
    "Mention",
    "builtin_lexicon",
    "extract_campaigns",
    "load_lexicon",
    "prepare",
]
