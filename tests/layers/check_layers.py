#!/usr/bin/env python3
"""The layers call one way only (docs/architecture.md): every #include "x.h" in the tree must
name a header of a lower layer, or the file's own header. A new file must be given a layer here,
so the drawing in the docs and this table cannot drift apart silently.

Usage: check_layers.py SOURCE_ROOT   (exit 1 and one line per violation)
"""
import pathlib
import re
import sys

# Directories whose files all share one layer, lowest first: libraries of small modules that may
# use each other, but nothing of a layer above.
DIR_LAYERS = {"common": 0, "platform": 1, "config": 1}

# server/: module name -> layer. A module may include modules of a lower layer only; two modules
# of one layer know nothing of each other.
SERVER_LAYERS = {
    "reason": 9,
    "stats": 10, "game_api": 10,
    "session": 11, "guard": 11, "auth": 11, "cluster": 11, "session_set": 11, "cli": 11, "grid": 11,
    "game_link": 12, "proxy_gate": 12, "counter": 12, "shout": 12, "zone": 12, "modules": 12,
    "dispatch": 13, "logic": 13,
    "worker": 14, "admin": 14,
    "worker_set": 15,
    "server": 16,
    "main": 17,
}

# Files that implement another module's header.
MODULE_OF = {"admin_render": "admin", "cluster_none": "cluster"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)\.h"', re.M)


def layer_of(root, path):
    rel = path.relative_to(root)
    top = rel.parts[0]
    if top in DIR_LAYERS:
        return DIR_LAYERS[top]
    return SERVER_LAYERS.get(MODULE_OF.get(path.stem, path.stem))


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    files = [p for d in list(DIR_LAYERS) + ["server"] for p in (root / d).rglob("*") if p.suffix in (".c", ".h")]
    headers = {}
    for p in files:
        if p.suffix == ".h":
            headers[p.stem] = p
    problems = []
    for p in sorted(files):
        mine = layer_of(root, p)
        rel = p.relative_to(root)
        if mine is None:
            problems.append(f"{rel}: no layer (add it to tests/layers/check_layers.py and docs/architecture.md)")
            continue
        for name in INCLUDE.findall(p.read_text()):
            if name == MODULE_OF.get(p.stem, p.stem):
                continue  # a module's own header
            h = headers.get(name)
            if h is None:
                continue  # a generated or out-of-tree header
            theirs = layer_of(root, h)
            same_library = h.relative_to(root).parts[0] in DIR_LAYERS and h.parent == p.parent
            if same_library:
                continue
            if theirs is None or theirs >= mine:
                problems.append(f"{rel}: includes {h.relative_to(root)} of layer {theirs}, not below its own ({mine})")
    for line in problems:
        print(line)
    print(f"{len(files)} files checked, {len(problems)} layering violations")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
