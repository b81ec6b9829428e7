"""One status document for a server of several workers: per plugin, what each worker serves."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["merge_documents"]


def merge_documents(documents: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    """The status documents of each worker (by pid) as one.

    Each plugin keeps the fields of the first worker's entry, and gains
    ``workers`` (pid -> state, version, digest, error) and ``mismatch``: True
    when the workers do not all serve the same version in the same state.
    The document gains ``workers``: the count and the pids.
    """
    pids = sorted(documents)
    if not pids:
        return {"config": None, "plugins": {}, "workers": {"count": 0, "pids": []}}
    merged = copy.deepcopy(dict(documents[pids[0]]))
    names: list[str] = []
    for pid in pids:
        names.extend(n for n in documents[pid].get("plugins", {}) if n not in names)
    plugins: dict[str, Any] = {}
    for name in names:
        per_worker = {}
        entry: dict[str, Any] | None = None
        for pid in pids:
            found = documents[pid].get("plugins", {}).get(name)
            if found is None:
                per_worker[str(pid)] = {"state": "absent", "version": 0, "digest": None}
                continue
            if entry is None:
                entry = copy.deepcopy(dict(found))
            per_worker[str(pid)] = {
                "state": found.get("state"),
                "version": found.get("version"),
                "digest": found.get("digest"),
                "error": found.get("error"),
            }
        assert entry is not None
        served = {(w["state"], w["digest"]) for w in per_worker.values()}
        entry["workers"] = per_worker
        entry["mismatch"] = len(served) > 1
        plugins[name] = entry
    merged["plugins"] = plugins
    merged["workers"] = {"count": len(pids), "pids": pids}
    return merged
