"""The workspace as a run's agent changed it, materialised for a command; and, once the
command exited, what it changed there folded back into the run's shadow (fold.py).

`OverlayView` (bwrap layer): an overlay whose lower layer is the live workspace and whose
upper directory persists for the run in `<shadow store>/overlay/`, so build outputs survive
from one command to the next. Bringing it up to date and folding cost O(files touched).

`CopyView` (Landlock, sandbox-exec, unsandboxed): without namespaces nothing can redirect
writes, so the view is a real directory, `<shadow store>/view/`, copied from the workspace
on the run's first command and refreshed by a stat walk before each later one. This costs
O(workspace); it is the fallback, and the price is reported in the command's result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import ToolRefused
from .fold import Fold, Folder, files_under, walk
from .nofollow import (clear_way, force_rmtree, read_regular_file, remove_tree_entry,
                       symlink_tree_entry, write_tree_file)
from .isolation import secret_masks
from .shadow import Shadow

log = logging.getLogger(__name__)


class OverlayView:
    """Upper and work directories live in the run's store (`<store>/overlay/`), unless the
    workspace's filesystem cannot hold them (an overlayfs root in a container, a kernel
    that refuses an upper inside the lower layer): then in a private directory under the
    system temp dir, remembered in `<store>/overlay-location`. `place` names another view
    of the same shadow (a long-lived server's, sandbox/services.py)."""

    def __init__(self, shadow: Shadow, place: str = "overlay") -> None:
        self.shadow = shadow
        self.workspace = shadow.policy.root
        self.place = place
        self._marker = shadow.store / f"{place}-location"
        base = shadow.store / place
        self.external = self._marker.is_file()
        if self.external:
            base = Path(self._marker.read_text().strip())
        self.upper, self.work = base / "upper", base / "work"
        self._changed_since: int | None = None

    def use_external(self) -> None:
        """Move the run's upper layer out of the workspace (starting afresh)."""
        uid = os.getuid()
        parent = Path(tempfile.gettempdir()) / f"baton-overlay-{uid}"
        try:
            parent.mkdir(mode=0o700)
        except FileExistsError:
            pass
        st = os.lstat(parent)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != uid or stat.S_IMODE(st.st_mode) & 0o077:
            raise ToolRefused(f"{parent} is not a private directory of this user; remove it")
        digest = hashlib.sha256(str(self.shadow.store / self.place).encode()).hexdigest()[:20]
        base = parent / digest
        force_rmtree(base)
        base.mkdir()
        self.shadow.store.mkdir(parents=True, exist_ok=True)
        self._marker.write_text(str(base))
        self.external = True
        self.upper, self.work = base / "upper", base / "work"

    def spec(self, argv: list[str]) -> dict:
        """What overlay_exec needs to make the view equal to the shadow, O(files touched)."""
        resets, writes, deletes = [], [], []
        for rel, t in self.shadow.touched.items():
            up = self.upper / rel
            if t.deleted:
                try:
                    if stat.S_ISCHR(os.lstat(up).st_mode):
                        continue  # already a whiteout
                except OSError:
                    pass
                deletes.append(rel)
            elif t.written:
                src = self.shadow.store / "files" / rel
                try:
                    if read_regular_file(up, src.stat().st_size + 1) == src.read_bytes():
                        continue
                except OSError:
                    pass
                writes.append([rel, str(src)])
            elif os.path.lexists(up):
                resets.append(rel)
        return {"workspace": str(self.workspace), "upper": str(self.upper), "work": str(self.work),
                "resets": resets, "writes": writes, "deletes": deletes, "argv": argv}

    def fold(self, since_ns: int, may_write: Callable[[str], bool] | None = None, *,
             mounted: bool = False) -> Fold:
        """What changed in the upper layer, into the shadow. `mounted`: the overlay is still
        in use (a server's): only entries changed since `since_ns` are folded (by their
        ctime, which no process can set back; what the daemon put there came before), and
        nothing is removed from the upper layer under the mount; a write outside the grant
        stays in that view only."""
        f = Folder(self.shadow, since_ns, may_write)
        self._changed_since = since_ns if mounted else None
        self._fold_dir("", f, opaque=False)
        # A file the agent created exists only in the upper layer; removing it there leaves
        # no whiteout, just absence.
        for rel, t in list(self.shadow.touched.items()):
            if t.written and not t.deleted and not os.path.lexists(self.upper / rel):
                f.deleted(rel)
        if mounted:
            return f.result
        # Writes outside the grant are discarded: dropping them from the upper layer shows
        # the live file again (the overlay is not mounted once the command has exited).
        for rel in f.result.denied:
            try:
                remove_tree_entry(self.upper, rel)
            except ToolRefused:
                pass
        return f.result

    def _fold_dir(self, rel: str, f: Folder, opaque: bool) -> None:
        present = set()
        for sub, e in walk(self.upper, rel):
            present.add(e.name)
            st = e.stat(follow_symlinks=False)
            if e.is_dir(follow_symlinks=False):
                if f.ignored(sub, is_dir=True):
                    continue
                try:
                    is_opaque = os.getxattr(e.path, "user.overlay.opaque") == b"y"
                except OSError:
                    is_opaque = False
                fresh = self._changed_since is None or st.st_ctime_ns >= self._changed_since
                self._fold_dir(sub, f, is_opaque and fresh)
            elif self._changed_since is not None and st.st_ctime_ns < self._changed_since:
                continue  # not changed during the call
            elif stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:  # whiteout
                if (self.workspace / sub).is_dir() and not (self.workspace / sub).is_symlink():
                    for gone in files_under(self.workspace, sub, f):
                        f.deleted(gone)
                else:
                    f.deleted(sub)
            elif stat.S_ISREG(st.st_mode):
                f.file(sub, Path(e.path), st)
            elif stat.S_ISLNK(st.st_mode):
                f.other(sub, st, "symlink")
            else:
                f.other(sub, st, "special file")
        if opaque:  # the directory was replaced: what the lower had and upper lacks is gone
            for sub, e in walk(self.workspace, rel):
                if e.name in present:
                    continue
                if e.is_dir(follow_symlinks=False):
                    for gone in files_under(self.workspace, sub, f):
                        f.deleted(gone)
                elif e.is_file(follow_symlinks=False):
                    f.deleted(sub)


Snapshot = dict[str, tuple[int, int, int]]  # rel → (size, mtime_ns, inode)


def _inside_workspace(paths: list[Path], workspace: Path) -> set[str]:
    out = set()
    for p in paths:
        try:
            out.add(p.relative_to(workspace).as_posix())
        except ValueError:
            continue
    return out


class CopyView:
    def __init__(self, shadow: Shadow, place: str = "view") -> None:
        self.shadow = shadow
        self.workspace = shadow.policy.root
        self.root = shadow.store / place
        self._stats_path = shadow.store / f"{place}.json"
        self.copied_files = 0  # files copied or refreshed by the last prepare()
        # Landlock hides $HOME's credential stores from reads by their path; a workspace
        # that contains one ($HOME opened as a folder) must not carry a readable copy of it
        # into the view.
        self.hidden = _inside_workspace([Path(p) for p, _ in secret_masks()], self.workspace)

    def _scan(self, root: Path, skip_git: bool) -> Snapshot:
        out: Snapshot = {}
        stack = [""]
        while stack:
            rel = stack.pop()
            for sub, e in walk(root, rel):
                if not rel and e.name == ".baton" or (skip_git and e.name == ".git") \
                        or sub in self.hidden:
                    continue
                st = e.stat(follow_symlinks=False)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(sub)
                elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    out[sub] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return out

    def _copy_in(self, rel: str) -> None:
        # The view is writable by earlier commands: every step is no-follow (paths.py).
        remove_tree_entry(self.root, rel)
        src = self.workspace / rel
        if src.is_symlink():
            symlink_tree_entry(self.root, rel, os.readlink(src))
        else:
            try:
                fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                return  # gone, or replaced by something that is not a file, since the scan
            with os.fdopen(fd, "rb") as f:
                st = os.fstat(f.fileno())
                if stat.S_ISREG(st.st_mode):
                    write_tree_file(self.root, rel, f, mode=st.st_mode)
                    os.utime(self.root / rel, ns=(st.st_atime_ns, st.st_mtime_ns),
                             follow_symlinks=False)
        self.copied_files += 1

    def _fresh_copy(self) -> bool:
        # Into a directory just made, where no command has planted anything yet, `cp -a`
        # is safe and several times faster than copying file by file. The folder itself
        # stays: a server's Landlock rule names it (services.py).
        self.root.mkdir(parents=True, exist_ok=True)
        for name in os.listdir(self.root):
            entry = self.root / name
            if entry.is_dir() and not entry.is_symlink():
                force_rmtree(entry)
            else:
                entry.unlink()
        entries = [str(self.workspace / n) for n in sorted(os.listdir(self.workspace))
                   if n != ".baton"]
        if not entries:
            return True
        reflink = ["--reflink=auto"] if sys.platform.startswith("linux") else []
        r = subprocess.run(["cp", "-a", *reflink, "--", *entries, str(self.root)],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:  # then every file is copied (or skipped) one by one
            log.warning("cp -a into the command view failed: %s", r.stderr.strip()[-300:])
        for rel in self.hidden:
            remove_tree_entry(self.root, rel)
        return r.returncode == 0

    def prepare(self) -> Snapshot:
        """Bring the view up to date with the workspace and the shadow; return its state.
        A view an earlier command made unsafe to update (a link where a directory was) is
        rebuilt from scratch."""
        self.copied_files = 0
        try:
            return self._prepare(rebuild=False)
        except ToolRefused:
            return self._prepare(rebuild=True)

    def _prepare(self, rebuild: bool) -> Snapshot:
        live = self._scan(self.workspace, skip_git=False)
        old: Snapshot = {}
        if not rebuild and self.root.is_dir() and self._stats_path.is_file():
            old = {k: tuple(v) for k, v in json.loads(self._stats_path.read_text()).items()}
        else:
            if self._fresh_copy():
                old = live
                self.copied_files = len(live)
        touched = self.shadow.touched
        for rel, st in live.items():
            if rel not in touched and old.get(rel) != st:
                self._copy_in(rel)
        for rel in old.keys() - live.keys():
            if rel not in touched:
                remove_tree_entry(self.root, rel)
        self._stats_path.write_text(json.dumps(live))
        for rel in touched:
            self._show_shadow(rel)
        return self._scan(self.root, skip_git=True)

    def _show_shadow(self, rel: str) -> None:
        want = self.shadow.read(rel)
        if want is None:
            try:
                remove_tree_entry(self.root, rel)
            except ToolRefused:
                pass  # under a link a command left: not a file of the view itself
            return
        data = want.encode("utf-8", "surrogatepass")
        clear_way(self.root, rel)
        if read_regular_file(self.root / rel, len(data) + 1) != data:
            write_tree_file(self.root, rel, data)

    def fold(self, before: Snapshot, since_ns: int,
             may_write: Callable[[str], bool] | None = None) -> Fold:
        f = Folder(self.shadow, since_ns, may_write)
        after = self._scan(self.root, skip_git=True)
        for rel, st in after.items():
            if before.get(rel) == st:
                continue
            path = self.root / rel
            try:
                lst = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISLNK(lst.st_mode):
                f.other(rel, lst, "symlink")
            else:
                f.file(rel, path, lst)
        for rel in before.keys() - after.keys():
            f.deleted(rel)
        for rel in f.result.denied:  # discarded: the view shows the shadow's version again
            try:
                self._show_shadow(rel)
            except ToolRefused:
                pass  # the next prepare() rebuilds a view it cannot update safely
        return f.result
