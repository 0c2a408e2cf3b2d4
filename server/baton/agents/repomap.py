"""The repository map: the workspace's files as git sees them (the walk of
`tools/listing.py`), one line per folder, within a budget."""

from __future__ import annotations

from pathlib import Path

from ..tools.listing import walk_files

MAP_NAMES_PER_DIR = 40


def _dir_line(folder: str, names: list[str]) -> str:
    shown = names[:MAP_NAMES_PER_DIR]
    more = f"  … +{len(names) - len(shown)}" if len(names) > len(shown) else ""
    return f"{folder or './'}  " + "  ".join(shown) + more


def repo_map(root: Path, budget_chars: int) -> str:
    """The workspace's files, one line per folder (`dir/  a.py  b.py`), within `budget_chars`.

    When everything does not fit, shallow folders win over deep ones (the top of the tree
    says most about a project), lines stay in path order, and a last line counts the rest.
    """
    tree = walk_files(root)
    total = sum(len(v) for v in tree.values())
    header = f"{total} files (.gitignore honoured), one line per folder:"
    lines = {folder: _dir_line(folder, names) for folder, names in tree.items()}
    chosen: list[str] = []
    used = len(header) + 1
    shown = 0
    footer_room = len(f"… {total} more files in {len(tree)} more folders") + 1
    for folder in sorted(tree, key=lambda f: (f.count("/"), f)):
        cost = len(lines[folder]) + 1
        n = len(tree[folder])  # names past MAP_NAMES_PER_DIR are counted on the folder's line
        rest = total - shown - n
        if used + cost + (footer_room if rest else 0) > budget_chars:
            break
        chosen.append(folder)
        used += cost
        shown += n
    body = [header, *(lines[f] for f in sorted(chosen))]
    if shown < total:
        hidden = len(tree) - len(chosen)
        body.append(f"… {total - shown} more files" + (f" in {hidden} more folders" if hidden else ""))
    out = "\n".join(body)
    # Only a budget smaller than the header line itself gets here over budget.
    return out if len(out) <= budget_chars else out[:max(budget_chars, 0)]
