"""The code keeps the shape issue 20 asked for, read from the source (``ast``): no function of the
pack takes more than 8 parameters, and there is one way to reach the pack (no ``client_package.py``
proxy). That the run never imports the tab's inbox is held by test_import_graph.py
(``test_the_run_reads_the_journal_never_the_tab_s_inbox``).

A parameter is each positional-only, positional and keyword-only one, ``*args`` and ``**kwargs``
one each (they still carry arguments); ``self`` / ``cls`` of a method are not counted. A node's
``execute`` is left out: ComfyUI calls it with one keyword argument per input socket of the node's
schema, so its parameters are the node's inputs, declared and documented in ``define_schema``.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACK = Path(__file__).resolve().parent.parent
PACKAGES = ("runninghub_video", "nodes")
MAX_PARAMETERS = 8


def parameter_count(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, *, method: bool) -> int:
    """How many parameters ``function`` takes, counted as the module docstring says."""
    args = function.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    if method and positional[:1] in (["self"], ["cls"]):
        positional = positional[1:]
    return len(positional) + len(args.kwonlyargs) + (args.vararg is not None) + (args.kwarg is not None)


def long_signatures(source: str, where: str, *, node_module: bool = False) -> list[str]:
    """``where:line name (count)`` for each function in ``source`` taking more than MAX_PARAMETERS."""
    tree = ast.parse(source)
    methods = {id(f) for c in ast.walk(tree) if isinstance(c, ast.ClassDef) for f in c.body
               if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        name = getattr(function, "name", "<lambda>")
        if node_module and name == "execute" and id(function) in methods:
            continue  # one parameter per input socket (see the module docstring)
        count = parameter_count(function, method=id(function) in methods)
        if count > MAX_PARAMETERS:
            found.append(f"{where}:{function.lineno} {name} ({count})")
    return found


def _sources():
    for package in PACKAGES:
        for path in sorted((PACK / package).rglob("*.py")):
            yield path.relative_to(PACK).as_posix(), path


def test_the_count_takes_every_kind_of_parameter_but_self():
    source = ("def f(a, /, b, *c, d, **e): pass\n"
              "class K:\n    def m(self, a, b, c, d, e, f, g, h): pass\n    def n(self, a, b, c, d, e, f, g, h, i): pass\n"
              "class Node:\n    def execute(cls, a, b, c, d, e, f, g, h, i): pass\n")
    assert long_signatures(source, "x.py") == ["x.py:4 n (9)", "x.py:6 execute (9)"]
    assert long_signatures(source, "x.py", node_module=True) == ["x.py:4 n (9)"]
    assert parameter_count(ast.parse(source).body[0], method=False) == 5


def test_no_function_of_the_pack_takes_more_than_eight_parameters():
    """Steps that need more share one object (run/pipeline.py's run) instead of a row of arguments."""
    long = [found for where, path in _sources()
            for found in long_signatures(path.read_text(encoding="utf-8"), where, node_module=where.startswith("nodes/"))]
    assert long == [], "functions taking more than 8 parameters:\n" + "\n".join(long)


def test_the_pack_is_reached_one_way_with_no_client_package_proxy():
    """ComfyUI loads the pack as one package; the nodes import the library relatively (a second
    identity through a lazy proxy made every class exist twice)."""
    assert sorted(p.relative_to(PACK).as_posix() for p in PACK.rglob("client_package.py")) == []
