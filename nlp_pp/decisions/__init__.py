"""Scores -> choices, on validation only: metrics, thresholds, calibration, ensembles, tests.

Enters: logits or probabilities with true labels. Leaves: typed results (nlp_pp.results),
the best configuration, thresholds, temperatures, ensemble weights, explanations.
"""
