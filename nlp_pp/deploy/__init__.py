"""Run -> answers: load a classifier, export it (ONNX, TorchScript, int8), serve it over HTTP.

Enters: a run or export directory. Leaves: predictions, explanations, export directories
and an HTTP service.
"""
