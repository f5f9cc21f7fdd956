"""Generate the shipped JSON Schema of ``metrics.json`` from the result model (:mod:`nlp_pp.results`).

After a change to the result model: ``python -c "from nlp_pp.schemas.generate import write_schema;
write_schema()"``; a test checks that the shipped file is current.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..results import Metrics
from . import SCHEMAS, json_schema


def render_schema() -> str:
    """The JSON Schema text of ``metrics.json`` as generated from the dataclasses today."""
    return json.dumps(json_schema(Metrics), ensure_ascii=False, indent=2) + "\n"


def write_schema() -> Path:
    """Regenerate the shipped ``nlp_pp/schemas/metrics.schema.json``."""
    path = SCHEMAS / "metrics.schema.json"
    path.write_text(render_schema(), encoding="utf-8")
    return path
