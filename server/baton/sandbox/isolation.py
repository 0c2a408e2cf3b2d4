"""Which OS isolation commands get, probed once by actually using it.

Strongest first:
  bwrap         user+mount namespace with an overlay view of the shadow, then bubblewrap:
                read-only root, private /tmp, no network, PID namespace, new session, no
                capabilities (not uid 0 inside), no_new_privs, the seccomp filter
  landlock      where namespaces are refused (Ubuntu 24.04's AppArmor rule): a copy of the
                workspace as the view, writes restricted to it by Landlock, signals and
                abstract sockets scoped, no capabilities, no_new_privs, the seccomp filter,
                a supervisor that kills every process the command started
  sandbox-exec  macOS: the same copy, writes restricted by a generated Seatbelt profile
  none          nothing available: commands are refused unless the workspace opts in with
                `[permissions] allow_unsandboxed_commands = true`

A Linux layer is used only if it gives every one of GUARANTEES, checked by running a
command under it and reading its /proc/self/status; one that cannot (Landlock before ABI 6
cannot scope signals; seccomp cannot be built for the architecture) is reported unavailable
with the reason, and the next is tried. With none left, commands are refused with the fix.
Nothing here switches isolation off quietly: the active layer and the reason every
stronger one is missing are in `isolation_report()` (for `baton doctor`) and in every
command's result. `BATON_SANDBOX_FORCE=bwrap|landlock|sandbox-exec|none` caps the layer
(tests and doctor use it to exercise the fallbacks); it never enables a weaker layer
silently, since the cap is reported too.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from ..state_dir import state_home
from . import landlock_exec, privileges, seccomp
from .guarantees import GUARANTEES, HOW, LIMITS, MISSING

log = logging.getLogger(__name__)

Layer = Literal["bwrap", "landlock", "sandbox-exec", "none"]
ORDER: tuple[Layer, ...] = ("bwrap", "landlock", "sandbox-exec", "none")
FORCE_ENV = "BATON_SANDBOX_FORCE"

# Credentials readable under a read-only root are hidden from commands.
SECRET_HOME_PATHS = (".ssh", ".aws", ".gnupg", ".azure", ".kube", ".docker", ".netrc",
                     ".git-credentials", ".npmrc", ".pypirc", ".password-store",
                     ".config/gcloud", ".config/gh", ".config/baton", ".local/share/keyrings")


class ProbeResult(BaseModel):
    layer: Layer
    reasons: dict[str, str]  # layer → why it is not used (only layers stronger than `layer`)
    fix: str  # what would give a stronger layer; "" when the strongest is active
    landlock_abi: int = 0
    forced: str | None = None
    missing: dict[str, str] = {}  # guarantee → why the active layer does not give it


def secret_masks(home: Path | None = None) -> list[tuple[str, bool]]:
    """(path, is_dir) of credential stores that exist and must be hidden, and Baton's own
    state (every workspace's journal and runs' shadows: state_dir.py); a link is hidden at
    its target. A command's own view, under the state home, is given to it explicitly
    (bwrap binds it, Landlock grants it)."""
    home = home or Path.home()
    out = []
    for p in [*(home / rel for rel in SECRET_HOME_PATHS), state_home()]:
        if p.is_symlink():
            p = p.resolve()
            if p == Path("/") or p in home.parents or p == home:
                continue  # a link to a parent of $HOME: hiding it would hide everything
        if os.path.lexists(p):
            out.append((str(p), p.is_dir()))
    return out


def inner_ids() -> tuple[int, int]:
    """The uid and gid a command has inside bubblewrap: the daemon's own, except that uid 0
    becomes nobody (65534). Nothing a command does needs uid 0, and it owns the workspace
    files either way (the one mapped id is the owner's)."""
    return os.getuid() or 65534, os.getgid() or 65534


def bwrap_argv(workspace: Path, command: list[str], *, network: bool, seccomp_fd: int,
               bwrap: str = "bwrap", protected: list[Path] | None = None,
               disable_userns: bool = False) -> list[str]:
    """The bubblewrap command line. `seccomp_fd`: an fd the spawned process inherits that
    holds `seccomp.program(inet=True)` (see `seccomp_pipe`)."""
    ws = str(workspace)
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for tools in toolchain_under_tmp(workspace, command):
        argv += ["--ro-bind", tools, tools]
    argv += ["--bind", ws, ws]
    for p in protected or []:
        if p.is_dir() and not p.is_symlink():
            # .git read-only (a planted hook would run outside the sandbox later);
            # .baton hidden (the runs' documents and transcripts).
            argv += (["--tmpfs", str(p)] if p.name == ".baton" else ["--ro-bind", str(p), str(p)])
    for path, is_dir in secret_masks():
        argv += ["--tmpfs", path] if is_dir else ["--ro-bind", "/dev/null", path]
    uid, gid = inner_ids()
    argv += ["--unshare-user", "--uid", str(uid), "--gid", str(gid), "--cap-drop", "ALL",
             "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--die-with-parent", "--new-session", "--seccomp", str(seccomp_fd),
             "--chdir", ws]
    if disable_userns:
        argv.append("--disable-userns")  # no nested namespaces to get capabilities back in
    if not network:
        argv.append("--unshare-net")
    return argv + ["--", *command]


def toolchain_under_tmp(workspace: Path, command: Sequence[str] = ()) -> list[str]:
    """Folders of the tools a command needs (the Python running Baton and its PYTHONPATH,
    `PATH`, the folder of a program named by absolute path, as an MCP server's script is)
    that the private /tmp would hide: a checkout or virtual environment under /tmp (CI may
    clone there) stays usable, read-only. The workspace itself is bound on its own."""
    programs = [os.path.dirname(a) if os.path.isfile(a) else a
                for a in command if os.path.isabs(a) and os.path.exists(a)]
    candidates = [sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable)),
                  *os.environ.get("PATH", "").split(os.pathsep),
                  *os.environ.get("PYTHONPATH", "").split(os.pathsep), *programs]
    found: list[str] = []
    for c in candidates:
        if not c or not os.path.isabs(c):
            continue
        real = os.path.realpath(c)
        if real.startswith("/tmp/") and os.path.isdir(real) \
                and not Path(real).is_relative_to(workspace) and real not in found:
            found.append(real)
    # Parents first, so a nested folder's bind is not hidden by its parent's.
    return sorted(found, key=lambda p: p.count("/"))


def seccomp_pipe() -> int:
    """A pipe's read end holding the bwrap layer's seccomp filter (IP allowed: the command
    has its own network namespace unless the person allowed the network). The caller
    passes it to the spawned process and closes it after the spawn."""
    prog = seccomp.program(inet=True)
    r, w = os.pipe()
    try:
        os.write(w, prog)  # a few hundred bytes: never more than the pipe holds
    finally:
        os.close(w)
    return r


def seatbelt_profile(write_dirs: list[str], network: bool) -> str:
    """A sandbox-exec profile: everything allowed but writes outside `write_dirs`
    (and the network unless `network`)."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    subpaths = " ".join(f"(subpath {q(os.path.realpath(d))})" for d in write_dirs)
    lines = ["(version 1)", "(allow default)",
             "(deny file-write*)",
             f"(allow file-write* {subpaths} (literal \"/dev/null\") (literal \"/dev/tty\")"
             " (regex #\"^/dev/fd/\"))"]
    if not network:
        lines.append("(deny network-outbound (remote ip))")
        lines.append("(deny network-inbound (local ip))")
    return "\n".join(lines) + "\n"


def _userns_fix() -> str:
    hints = []
    try:
        if Path("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").read_text().strip() == "1":
            hints.append("AppArmor restricts unprivileged user namespaces (Ubuntu 24.04+): "
                         "allow them for bwrap with an AppArmor profile, or "
                         "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`")
    except OSError:
        pass
    try:
        if Path("/proc/sys/kernel/unprivileged_userns_clone").read_text().strip() == "0":
            hints.append("`sudo sysctl kernel.unprivileged_userns_clone=1`")
    except OSError:
        pass
    try:
        if Path("/proc/sys/user/max_user_namespaces").read_text().strip() == "0":
            hints.append("`sudo sysctl user.max_user_namespaces=15000`")
    except OSError:
        pass
    return "; ".join(hints)


STATUS_PROBE = "cat /proc/self/status"


def unconfined(status: str) -> str | None:
    """Why a sandboxed process with this /proc/self/status is not confined as GUARANTEES
    require, or None."""
    flags = privileges.status_flags(status)
    held = [k for k in ("CapInh", "CapPrm", "CapEff", "CapAmb") if flags.get(k, 1)]
    if held:
        return f"capabilities are not dropped ({', '.join(held)} not empty)"
    if flags.get("NoNewPrivs") != 1:
        return "no_new_privs is not set"
    if flags.get("Seccomp") != 2:
        return "the seccomp filter is not loaded"
    return None


@lru_cache(maxsize=4)
def bwrap_disables_userns(exe: str) -> bool:
    """Whether this bubblewrap knows `--disable-userns` (0.8+): older ones still isolate,
    without that extra hardening."""
    try:
        r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--disable-userns" in r.stdout + r.stderr


def probe_bwrap(bwrap: str = "bwrap") -> str | None:
    """None when the overlay view + bubblewrap chain works here and confines as GUARANTEES
    require, else why not."""
    if not sys.platform.startswith("linux"):
        return "bubblewrap and overlay views are Linux only"
    exe = shutil.which(bwrap)
    if exe is None:
        return f"{bwrap} is not installed (`apt-get install bubblewrap`, `dnf install bubblewrap`)"
    try:
        fd = seccomp_pipe()
    except ValueError as e:
        return f"cannot build the seccomp filter: {e}"
    with tempfile.TemporaryDirectory(prefix="baton-probe-") as tmp:
        t = Path(tmp)
        ws = t / "ws"
        ws.mkdir()
        (ws / "f").write_text("lower\n")
        argv = bwrap_argv(ws, ["/bin/sh", "-c", f"echo upper > f; {STATUS_PROBE}"], network=False,
                          bwrap=exe, seccomp_fd=fd, disable_userns=bwrap_disables_userns(exe))
        spec = {"workspace": str(ws), "upper": str(t / "upper"), "work": str(t / "work"),
                "resets": [], "writes": [], "deletes": [], "argv": argv}
        (t / "spec.json").write_text(json.dumps(spec))
        try:
            r = subprocess.run([*helper_argv("overlay_exec"), str(t / "spec.json")],
                               capture_output=True, text=True, timeout=30, cwd="/",
                               env=_helper_env(), pass_fds=(fd,))
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"probing bubblewrap failed: {e}"
        finally:
            os.close(fd)
        if r.returncode != 0:
            why = (r.stderr.strip().splitlines() or [f"exit status {r.returncode}"])[-1]
            fix = _userns_fix()
            return f"bubblewrap cannot create its namespaces here: {why}" + (f". Fix: {fix}" if fix else "")
        if (ws / "f").read_text() != "lower\n" or not (t / "upper" / "f").is_file():
            return "the overlay view did not keep the workspace read-only"
        loose = unconfined(r.stdout)
        if loose:
            return f"bubblewrap does not confine commands here: {loose}"
    return None


def _helper_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME")}


def helper_argv(module: str) -> list[str]:
    """How to start one of the exec helpers (`overlay_exec`, `landlock_exec`) in a fresh
    process. `-I` ignores PYTHON* variables and the user's site; the package is found by an
    explicit path, so the command's environment carries nothing of Baton's."""
    src = str(Path(__file__).resolve().parents[2])
    code = (f"import sys; sys.path.insert(0, {src!r}); "
            f"from baton.sandbox.{module} import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-I", "-c", code]


def probe_landlock() -> tuple[int, str | None]:
    """(ABI, None) when the Landlock helper works here and confines as GUARANTEES require,
    else (ABI, why not)."""
    abi = landlock_exec.abi_version()
    if abi < 1:
        return 0, "Landlock is not enabled in this kernel (needs Linux 5.13+ with lsm=landlock)"
    if abi < landlock_exec.SCOPED_ABI:
        return abi, (f"Landlock ABI {abi} cannot keep a command from signalling processes "
                     f"outside it, the editor and Baton included (ABI "
                     f"{landlock_exec.SCOPED_ABI}, Linux 6.12+, can)")
    try:
        seccomp.program(inet=False)
    except ValueError as e:
        return abi, f"cannot build the seccomp filter: {e}"
    with tempfile.TemporaryDirectory(prefix="baton-probe-") as tmp:
        try:
            r = subprocess.run([*helper_argv("landlock_exec"), "--write", tmp, "--no-network",
                                "--", "/bin/sh", "-c", f"echo x > {tmp}/ok; "
                                f"echo x > {tmp}/../baton-probe-escape; {STATUS_PROBE}"],
                               capture_output=True, text=True, timeout=30, cwd="/",
                               env=_helper_env())
        except (OSError, subprocess.TimeoutExpired) as e:
            return abi, f"probing Landlock failed: {e}"
        escaped = Path(tmp).parent / "baton-probe-escape"
        if escaped.exists():
            escaped.unlink()
            return abi, "Landlock did not restrict writes"
        if r.returncode == 125 or not (Path(tmp) / "ok").exists():
            return abi, f"Landlock could not be applied: {r.stderr.strip()[-300:]}"
        loose = unconfined(r.stdout)
        if loose:
            return abi, f"the Landlock helper does not confine commands here: {loose}"
    return abi, None


def probe_sandbox_exec() -> str | None:
    if sys.platform != "darwin":
        return "sandbox-exec is macOS only"
    exe = shutil.which("sandbox-exec")
    if exe is None:
        return "sandbox-exec is missing from this macOS"
    try:
        r = subprocess.run([exe, "-p", seatbelt_profile([tempfile.gettempdir()], False), "/usr/bin/true"],
                           capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"probing sandbox-exec failed: {e}"
    return None if r.returncode == 0 else f"sandbox-exec failed: {r.stderr.decode(errors='replace')[-300:]}"


@lru_cache(maxsize=8)
def probe(force: str | None = None, bwrap: str = "bwrap") -> ProbeResult:
    """The strongest working layer; cached per (force, bwrap) so it runs once per process."""
    if force is not None and force not in ORDER:
        raise ValueError(f"{FORCE_ENV}={force!r}: expected one of {', '.join(ORDER)}")
    cap = ORDER.index(force) if force else 0
    reasons: dict[str, str] = {}
    abi = landlock_exec.abi_version() if sys.platform.startswith("linux") else 0
    chosen: Layer = "none"
    for i, layer in enumerate(ORDER[:-1]):
        if i < cap:
            reasons[layer] = f"disabled by {FORCE_ENV}={force}"
            continue
        if layer == "bwrap":
            why = probe_bwrap(bwrap)
        elif layer == "landlock":
            abi, why = probe_landlock()
        else:
            why = probe_sandbox_exec()
        if why is None:
            chosen = layer
            break
        reasons[layer] = why
    fix = _fix_for(chosen, reasons)
    result = ProbeResult(layer=chosen, reasons=reasons, fix=fix, landlock_abi=abi, forced=force,
                         missing=MISSING.get(chosen, {}))
    log.info("command isolation: %s%s", chosen, f" ({fix})" if fix else "")
    return result


def _fix_for(layer: Layer, reasons: dict[str, str]) -> str:
    if layer == "bwrap":
        return ""
    if any(v.startswith("disabled by") for v in reasons.values()):
        return f"unset {FORCE_ENV} (it caps the isolation layer for tests)"
    if sys.platform == "darwin":
        base = "" if layer == "sandbox-exec" else (
            "sandbox-exec should be part of macOS; check that /usr/bin/sandbox-exec exists")
    else:
        bw = reasons.get("bwrap", "")
        if "not installed" in bw:
            base = ("install bubblewrap (`apt-get install bubblewrap`) and allow unprivileged "
                    "user namespaces")
        elif "Fix: " in bw:
            base = bw.split("Fix: ")[-1]
        elif "cannot create its namespaces" in bw:
            base = "allow unprivileged user namespaces so bubblewrap can run"
        else:
            base = f"make bubblewrap usable ({bw})"
    if layer == "none":
        base += (". Until then commands are refused; to run them with no isolation at all, "
                 "opt in per workspace with `[permissions] allow_unsandboxed_commands = true` "
                 "in .baton/config.toml")
    return base


def active(bwrap: str = "bwrap") -> ProbeResult:
    """The probe as configured by the environment (the one knob tests and doctor use)."""
    force = os.environ.get(FORCE_ENV) or None
    return probe(force, bwrap)


def guarantees(result: ProbeResult) -> dict[str, str]:
    """Each of GUARANTEES for the active layer: "yes: how" or "MISSING: why"."""
    how = HOW.get(result.layer, {})
    return {name: f"MISSING: {what} ({result.missing[name]})" if name in result.missing
            else f"yes: {what} ({how.get(name, 'given')})" for name, what in GUARANTEES.items()}


def isolation_report() -> dict:
    """For `baton doctor`: the active layer, which guarantees it gives (and how) and which
    it does not, why each stronger layer is not used, and the fix."""
    r = active()
    return {"layer": r.layer, "guarantees": guarantees(r), "unavailable": r.reasons, "fix": r.fix,
            "landlock_abi": r.landlock_abi, "forced": r.forced, "limits": LIMITS[r.layer],
            "commands": ("refused unless [permissions] allow_unsandboxed_commands = true"
                         if r.layer == "none" else f"run under {r.layer}")}
