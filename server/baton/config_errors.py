"""A configuration mistake said where the person fixes it: `file:line: key: what is wrong`,
with the key a near-miss was probably meant to be.

The configuration is layered ($BATON_CONFIG, or the user file under the workspace file;
initializationOptions.config on top), and pydantic checks the merged result. Each mistake's
key path is traced back to the layer that wrote it and, in a file, to its line
(toml_positions.py). Everything said is made visible (display.py): a workspace file is
repository content, and its keys reach editor messages.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from .display import visible
from .errors import ConfigError
from .toml_positions import KeyPath, key_lines

MOST = 5  # mistakes said in one message; the rest are counted
EXAMINED = 100  # of a hostile file's thousands of mistakes, those put in order of their lines
OVERRIDES = "initializationOptions.config"


@dataclass(frozen=True)
class Source:
    """One layer of the configuration: where it came from and what it says."""
    name: str  # the file, or OVERRIDES
    data: Mapping[str, Any]
    text: str | None = field(default=None, repr=False)  # a file's text, for its lines

    @cached_property
    def lines(self) -> dict[KeyPath, int]:
        return key_lines(self.text) if self.text is not None else {}


@dataclass(frozen=True)
class Mistake:
    path: KeyPath  # the key, as far as it is known
    message: str
    branch: bool = False  # what one branch of a union (`str | list[str]`) said of the value


def config_error(mistakes: list[Mistake], sources: list[Source], total: int = 0) -> ConfigError:
    """The mistakes in the order of the files and lines they are on; `total` counts those
    not examined too."""
    kept = _one_per_value(mistakes[:EXAMINED])
    said = sorted((layer, line, i, text) for i, (layer, line, text) in
                  enumerate(_locate(m, sources) for m in kept))
    left = max(total - len(mistakes), 0) + len(kept) - MOST
    more = f" (and {left} more)" if left > 0 else ""
    return ConfigError(visible("; ".join(text for *_, text in said[:MOST]) + more))


def _one_per_value(mistakes: list[Mistake]) -> list[Mistake]:
    """A value no branch of a union accepts gets one mistake: the deepest one (an item of a
    list), else what the branches said, joined."""
    out: dict[KeyPath, Mistake] = {}
    above = {o.path[:n] for o in mistakes for n in range(len(o.path))}  # keys with a mistake inside
    for m in mistakes:
        if m.branch and m.path in above:
            continue
        seen = out.get(m.path)
        if seen is not None and seen.branch and m.branch:
            also = m.message.removeprefix("Input should be ") if seen.message.startswith(
                "Input should be ") else m.message
            m = Mistake(m.path, f"{seen.message} or {also}", branch=True)
        out[m.path] = m if seen is None or m.branch else seen
    return list(out.values())


def from_validation(e: ValidationError, model: type[BaseModel], data: Mapping[str, Any]) -> list[Mistake]:
    """pydantic's errors as mistakes at the keys the person wrote (not pydantic's union
    branches), unknown keys with the known ones they were probably meant to be."""
    out = []
    for err in e.errors()[:EXAMINED]:
        path, branch = _written(err["loc"], data)
        if err["type"] == "missing":
            out.append(Mistake(path + (err["loc"][-1],), "missing; it is required"))
        elif err["type"] == "extra_forbidden":
            what = "unknown table" if isinstance(err["input"], Mapping) else "unknown key"
            out.append(Mistake(path, what + _suggest(str(path[-1]), _names_at(model, path[:-1]))))
        elif err["type"] == "literal_error":
            expected = re.findall(r"'([^']*)'", err.get("ctx", {}).get("expected", ""))
            out.append(Mistake(path, err["msg"] + suggestion(str(err["input"]), expected), branch))
        else:
            out.append(Mistake(path, err["msg"], branch))
    return out


def unknown_key(path: KeyPath, known: list[str]) -> Mistake:
    return Mistake(path, "unknown key" + _suggest(str(path[-1]), known))


def _suggest(name: str, known: list[str]) -> str:
    """A near-miss's likely key, else the keys there are (when they are few)."""
    return suggestion(name, known) or (
        f" (known: {', '.join(known)})" if known and len(known) <= 12 else "")


def suggestion(name: str, known: list[str]) -> str:
    """"; did you mean 'x'?" when `name` is close to one of `known`, else ""."""
    near = _near(name, known)
    return f"; did you mean {_quote(near)}?" if near else ""


def _near(name: str, known: list[str]) -> str | None:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return close[0] if close else None


def _quote(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def _written(loc: tuple[Any, ...], data: Mapping[str, Any]) -> tuple[KeyPath, bool]:
    """The part of pydantic's `loc` that names keys and items present in `data`, and whether
    a step named a union's branch (`str`, `list[str]`), which is left out."""
    out: list[str | int] = []
    here: Any = data
    branch = False
    for step in loc:
        child = _child(here, step)
        if child is not _ABSENT:
            here = child
            out.append(step)
        elif isinstance(step, str) and not isinstance(here, Mapping):
            branch = True
        else:
            break
    return tuple(out), branch


_ABSENT = object()


def _child(here: Any, step: Any) -> Any:
    """`here[step]` for a table's key or a list's item, else _ABSENT."""
    if isinstance(here, Mapping):
        return here.get(step, _ABSENT)
    if isinstance(here, list) and isinstance(step, int) and 0 <= step < len(here):
        return here[step]
    return _ABSENT


def _names_at(model: type[BaseModel], path: KeyPath) -> list[str]:
    """The keys the model knows in the table at `path` (empty where any key is allowed)."""
    annotation: Any = model
    for step in path:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            info = annotation.model_fields.get(str(step))
            if info is None:
                return []
            annotation = info.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]  # `step` is a name the person chose
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [n for n, f in annotation.model_fields.items() if not f.exclude]
    return []


def _unwrap(annotation: Any) -> Any:
    """`X | None` → X."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _locate(m: Mistake, sources: list[Source]) -> tuple[int, int, str]:
    """(layer, line, `where: key: message`): where is the layer that wrote the key (the
    latest, as it is the one in force) and, in a file, the line of as much of the key as
    it writes."""
    key = _key(m.path)
    best: tuple[int, int] | None = None  # (depth, layer)
    for i, source in enumerate(sources):
        depth = _depth(source.data, m.path)
        if depth and (best is None or depth >= best[0]):
            best = (depth, i)
    if best is None:
        return len(sources), 0, f"{key}: {m.message}" if key else m.message
    depth, i = best
    source = sources[i]
    line = next((source.lines[m.path[:n]] for n in range(depth, 0, -1) if m.path[:n] in source.lines), 0)
    where = f"{source.name}:{line}" if line else source.name
    return i, line, f"{where}: {key}: {m.message}"


def _depth(data: Any, path: KeyPath) -> int:
    """How many steps of `path` `data` holds."""
    n = 0
    for step in path:
        data = _child(data, step)
        if data is _ABSENT:
            break
        n += 1
    return n


def _key(path: KeyPath) -> str:
    """`providers.claude.kind`, `permissions.commands[2]`; a key that is not bare, quoted."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            part = step if re.fullmatch(r"[A-Za-z0-9_-]+", step) else _quote(step)
            out += ("." if out else "") + part
    return out

