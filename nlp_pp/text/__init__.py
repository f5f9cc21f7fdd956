"""Texts -> tokens: load labelled CSVs and unlabelled files, clean, MeCab, stopwords, jamo.

Enters: raw texts (files, URLs, lists of str). Leaves: token lists, text hashes, split frames.
"""
