"""Tokens -> ids and vectors: vocabulary, encoding and batches, FastText, vector files, corpora.

Enters: token lists (in memory or streamed from disk). Leaves: id sequences, DataLoaders,
word vectors and embedding matrices.
"""
