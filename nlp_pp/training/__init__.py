"""Ids -> fitted models: the trainer, the TF-IDF baseline, the run directory, the experiment.

Enters: an ExperimentConfig and its data. Leaves: a run directory (checkpoints, results,
predictions, metrics.json and the report).
"""
