"""What changed between two config documents, as a list of `{path, before, after}`.

Backends are compared by name (`backends.openai-mini.weight`), not by list position, so
adding one backend reads as one addition. Other lists are compared whole. A missing
side is null. The documents never hold provider keys, so neither does a diff.
"""

from __future__ import annotations

from typing import Any


def diff_documents(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    _walk(_keyed(before), _keyed(after), "", changes)
    return changes


def _keyed(document: dict[str, Any]) -> dict[str, Any]:
    backends = document.get("backends")
    if not isinstance(backends, list):
        return document
    by_name = {str(b.get("name")): b for b in backends if isinstance(b, dict)}
    return {**document, "backends": by_name}


def _walk(before: Any, after: Any, path: str, changes: list[dict[str, Any]]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for name in [*before, *(k for k in after if k not in before)]:
            inner = f"{path}.{name}" if path else str(name)
            _walk(before.get(name), after.get(name), inner, changes)
    elif before != after:
        changes.append({"path": path, "before": before, "after": after})
