"""Import each named module first, in a process of its own, and report the ones that fail.

Run as `python -m tests.architecture.import_first SOURCE_DIR PACKAGE`: every module of the
package (but its `__main__`s, which run a program, and Alembic's migration scripts). The
third-party packages the modules import at their top are loaded once up front; then, per
module, a forked child whose `sys.modules` holds no module of the project imports it, as
a fresh interpreter would.
A cycle that only works in one import order fails here for the order that breaks it.
Prints one JSON object: {module: traceback} for every module that failed.
"""

from __future__ import annotations

import ast
import gc
import importlib
import json
import os
import sys
import traceback
from pathlib import Path

_PROJECT = ("llm_proxy", "router_service", "tests", "bench")


def modules_of(source: Path, package: str) -> dict[str, Path]:
    """Module name -> file, found on disk (nothing is imported to find them)."""
    found: dict[str, Path] = {}
    for path in sorted((source / package).rglob("*.py")):
        parts = list(path.relative_to(source).with_suffix("").parts)
        if parts[-1] == "__main__" or "migrations" in parts:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _third_party(files: list[Path]) -> set[str]:
    """Modules the files import at their top level that are not the project's own."""
    names: set[str] = set()
    for path in files:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return {n for n in names if n.split(".")[0] not in _PROJECT and n != "__future__"}


def _preload(names: set[str]) -> None:
    for name in sorted(names):
        try:
            importlib.import_module(name)
        except Exception:
            continue


def _start(module: str) -> tuple[int, int]:
    """Fork a child that imports `module` and writes its traceback (if any) to a pipe."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        status = 0
        try:
            importlib.import_module(module)
        except BaseException:
            os.write(write, traceback.format_exc().encode())
            status = 1
        os._exit(status)
    os.close(write)
    return pid, read


def _result(pid: int, read: int) -> str | None:
    with os.fdopen(read, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return None if status == 0 else output or f"exit status {status}"


def _import_each_alone(modules: list[str], workers: int) -> dict[str, str]:
    gc.freeze()  # the children share the parent's pages instead of copying them
    failures: dict[str, str] = {}
    running: list[tuple[str, int, int]] = []
    for module in [*modules, *[""] * workers]:
        if len(running) == workers or (not module and running):
            name, pid, read = running.pop(0)
            if (problem := _result(pid, read)) is not None:
                failures[name] = problem
        if module:
            running.append((module, *_start(module)))
    return failures


def main(source: Path, package: str) -> None:
    modules = modules_of(source, package)
    _preload(_third_party(list(modules.values())))
    assert not [m for m in sys.modules if m.split(".")[0] in _PROJECT[:2]], "preloaded"
    failures = _import_each_alone(list(modules), workers=os.cpu_count() or 1)
    print(json.dumps({"modules": len(modules), "failures": failures}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
