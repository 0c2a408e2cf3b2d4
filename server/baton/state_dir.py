"""Where Baton keeps things: what a person reads in the workspace, Baton's own state out of
their way (issue 19). The one module that knows these paths.

    <workspace>/.baton/                 the person's: shown in their editor, ignored by git
        .gitignore                      `*`
        config.toml                     the workspace's configuration (PROTOCOL §2)
        runs/<runId>/                   plan.md, answer.md, changes.diff, transcript.jsonl
    <state home>/baton/workspaces/<name>-<hash>/      Baton's own, mode 0700
        journal.sqlite3 (-wal, -shm)    the runs' events
        engine.lock                     one engine per workspace
        runs/<runId>/shadow/, landed/   a run's working copy, and what of it landed

`<state home>` is `$XDG_STATE_HOME`, else `~/.local/state`; `<hash>` is of the resolved
workspace root, so two folders of the same name never share a journal. Commands and MCP
servers never see the state home (sandbox/isolation.py hides it with the credential
stores), and since the journal is no longer in the workspace, a repository cannot ship
one: a `.baton/journal.sqlite3` (where Baton before 0.3 kept it, or a forged one) is never
read; `baton doctor` names it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import BatonError

DOCS = ".baton"
OLD_STATE = ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm", "engine.lock")
OLD_RUN_STATE = ("shadow", "landed")


def state_home(env: Mapping[str, str] | None = None) -> Path:
    """`<state home>/baton`: every workspace's state. A relative `$XDG_STATE_HOME` is
    ignored, as the XDG specification says."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or ""
    return (Path(base) if os.path.isabs(base) else Path.home() / ".local" / "state") / "baton"


@dataclass(frozen=True)
class Locations:
    root: Path  # the workspace, resolved
    state: Path  # this workspace's state directory

    @classmethod
    def of(cls, workspace: Path, env: Mapping[str, str] | None = None) -> Locations:
        root = workspace.resolve()
        digest = hashlib.sha256(os.fsencode(root)).hexdigest()[:16]
        name = re.sub(r"[^A-Za-z0-9._-]", "_", root.name)[:40].lstrip(".") or "root"
        return cls(root, state_home(env) / "workspaces" / f"{name}-{digest}")

    # -- the person's, in the workspace ------------------------------------------------
    @property
    def docs(self) -> Path:
        return self.root / DOCS

    @property
    def runs_dir(self) -> Path:
        """Each run's documents, `runs/<runId>/`."""
        return self.docs / "runs"

    # -- Baton's own ---------------------------------------------------------------------
    @property
    def journal(self) -> Path:
        return self.state / "journal.sqlite3"

    @property
    def lock(self) -> Path:
        return self.state / "engine.lock"

    def run_state(self, run_id: str) -> Path:
        """A run's shadow/ and landed/."""
        return self.state / "runs" / run_id

    def old_state(self) -> list[Path]:
        """What an earlier Baton kept in the workspace (or a repository put there): never
        read, left for the person to delete."""
        runs = [p for p in self.runs_dir.glob("*/*") if p.name in OLD_RUN_STATE] \
            if self.runs_dir.is_dir() else []
        return [self.docs / n for n in OLD_STATE if (self.docs / n).exists()] + sorted(runs)

    def old_state_note(self) -> str | None:
        """One line naming `old_state()`, or None."""
        old = self.old_state()
        if not old:
            return None
        named = ", ".join(str(p.relative_to(self.root)) for p in old[:4])
        more = f" and {len(old) - 4} more" if len(old) > 4 else ""
        return (f"{named}{more}: not read. Baton keeps its journal and runs' shadows in "
                f"{self.state} now; these are an earlier Baton's (or came with the "
                "repository): delete them")

    def prepare(self) -> None:
        """Both places exist: the documents folder with its .gitignore, and the state
        directory, private to the person (0700). Raises BatonError, having written nothing
        through it, when a folder is not what it should be: a link (a repository can ship
        `.baton` as one; someone can plant one where the state directory goes) or another
        user's."""
        for d in (self.docs, self.runs_dir):
            _own_dir(d, "the runs' documents")
        _write_new(self.docs / ".gitignore", b"*\n")
        home = self.state.parent.parent
        home.parent.mkdir(parents=True, exist_ok=True)  # $XDG_STATE_HOME: the person's own
        for d in (home, self.state.parent, self.state):  # baton/workspaces/<name>-<hash>
            _own_dir(d, "its journal", private=True)


def _write_new(path: Path, data: bytes) -> None:
    """Create `path` with `data` unless something is there already. Never through a link: a
    repository can ship `.baton/.gitignore` as a dangling link to a file Baton would create."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    except FileExistsError:  # including a link, dangling or not: left alone
        return
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _own_dir(d: Path, holds: str, *, private: bool = False) -> None:
    """`d` exists as a directory of this user's, made here if missing, never through a link."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(d, 0o700 if private else 0o777)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise BatonError(f"{d} is not a folder of yours (a link, or another user's): Baton keeps "
                         f"{holds} there and will not use it; remove it"
                         + (", or set XDG_STATE_HOME" if private else ""))
    if private and stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(d, 0o700)
