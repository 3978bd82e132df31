"""procwatch's crawler: sources, fetching, extraction and normalisation."""
