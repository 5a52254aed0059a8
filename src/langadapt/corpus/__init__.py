"""Corpus cleaning: readers, normalisers, filters, deduplication and writers, run as one stream.

Run it with `langadapt clean INPUT... --out DIR --preset zh-Hant` or as the `clean` stage of a recipe.
"""
