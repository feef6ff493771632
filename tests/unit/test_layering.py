"""The core is pure (DESIGN.md "Layers"): it imports no framework, database, CLI or HTTP client,
and never reads the clock."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "src" / "copyright_guard" / "core"
FORBIDDEN = {"scrapy", "twisted", "sqlalchemy", "alembic", "click", "fastapi", "starlette", "httpx",
             "requests", "urllib3", "aiohttp", "psycopg", "uvicorn", "socket", "http.client",
             "urllib.request", "copyright_guard.store", "copyright_guard.fetch", "copyright_guard.scrapy",
             "copyright_guard.web", "copyright_guard.cli"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic", "perf_counter"}


def _imports(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 1 and node.module:
            names.add("copyright_guard." + node.module)
    return names


def test_core_imports_nothing_impure():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for name in _imports(ast.parse(path.read_text(), str(path))):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN):
                offenders.append(f"{path.name}: {name}")
    assert not offenders, offenders


def test_core_never_reads_the_clock():
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in CLOCK_CALLS
                    and isinstance(node.func.value, (ast.Name, ast.Attribute))
                    and getattr(node.func.value, "id", getattr(node.func.value, "attr", "")) in {"datetime", "date", "time"}):
                offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders
