"""The benchmark scripts' embedded child programs (run with ``python -c``) are valid Python.

A formatter or a line wrapper never sees inside a string: a wrapped line there broke the contention
benchmark's competitor and the inference benchmark's child without any test noticing.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

SCRIPTS = sorted((ROOT / "bench").glob("*.py"))


def child_programs() -> list[tuple[str, str, str]]:
    """``(script, name, source)`` of every upper-case module constant holding a program."""
    found = []
    for path in SCRIPTS:
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
                continue
            value = node.value.value
            names = [t.id for t in node.targets if isinstance(t, ast.Name) and t.id.isupper()]
            if names and isinstance(value, str) and "\nimport " in f"\n{value.lstrip()}":
                found.append((path.name, names[0], value))
    return found


PROGRAMS = child_programs()


def test_the_scripts_have_child_programs():
    assert {"bench_contention.py", "bench_inference.py"} <= {script for script, _, _ in PROGRAMS}


@pytest.mark.parametrize("script, name, source", PROGRAMS, ids=[f"{s}:{n}" for s, n, _ in PROGRAMS])
def test_a_child_program_compiles(script, name, source):
    code = compile(source, f"{script}:{name}", "exec")  # a SyntaxError fails the test
    assert "sys" in code.co_names or "torch" in code.co_names  # the program, not an empty string
