"""Campaign and formulation detection over article text.

Names load on first use (PEP 562): reading a lexicon must not load the segmenter and its rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crawler.lazy import lazy_exports

_EXPORTS = {
    "CampaignExtractor": "crawler.campaigns.extract",
    "Mention": "crawler.campaigns.extract",
    "extract_campaigns": "crawler.campaigns.extract",
    "prepare": "crawler.campaigns.extract",
    "Lexicon": "crawler.campaigns.lexicon",
    "LexiconError": "crawler.errors",
    "builtin_lexicon": "crawler.campaigns.lexicon",
    "load_lexicon": "crawler.campaigns.lexicon",
}

if TYPE_CHECKING:
    from crawler.campaigns.extract import CampaignExtractor, Mention, extract_campaigns, prepare
    from crawler.campaigns.lexicon import Lexicon, builtin_lexicon, load_lexicon
    from crawler.errors import LexiconError

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


__getattr__ = lazy_exports(__name__, _EXPORTS)
