"""The isolation probe, its fallbacks and what doctor reports; the Landlock exec wrapper."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from baton.sandbox import isolation, landlock_exec

from .conftest import require_layer


@pytest.fixture(autouse=True)
def fresh_probe():
    isolation.probe.cache_clear()
    yield
    isolation.probe.cache_clear()


def _fake_bwrap(tmp_path: Path, message: str) -> str:
    exe = tmp_path / "bwrap"
    exe.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    exe.chmod(0o755)
    return str(exe)


def test_bwrap_missing_falls_back_and_says_how_to_fix() -> None:
    r = isolation.probe(None, "/nonexistent/bwrap")
    assert r.layer != "bwrap"
    assert "not installed" in r.reasons["bwrap"] and "apt-get install bubblewrap" in r.reasons["bwrap"]
    assert "apt-get install bubblewrap" in r.fix


def test_bwrap_failing_like_ubuntu_apparmor_falls_back(tmp_path: Path) -> None:
    r = isolation.probe(None, _fake_bwrap(tmp_path, "bwrap: setting up uid map: Permission denied"))
    assert r.layer != "bwrap"
    assert "setting up uid map: Permission denied" in r.reasons["bwrap"]


def test_no_landlock_and_no_bwrap_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock_exec, "abi_version", lambda: 0)
    r = isolation.probe(None, "/nonexistent/bwrap")
    assert r.layer == "none"
    assert "Landlock is not enabled" in r.reasons["landlock"]
    assert "allow_unsandboxed_commands = true" in r.fix and "bubblewrap" in r.fix


def test_real_bwrap_is_the_strongest_here() -> None:
    require_layer("bwrap")
    r = isolation.probe(None)
    assert r.layer == "bwrap" and r.reasons == {} and r.fix == ""


def test_force_caps_the_layer_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.FORCE_ENV, "none")
    report = isolation.isolation_report()
    assert report["layer"] == "none" and report["forced"] == "none"
    assert all("disabled by BATON_SANDBOX_FORCE" in v for v in report["unavailable"].values())
    assert "unset BATON_SANDBOX_FORCE" in report["fix"]
    assert "refused" in report["commands"]
    with pytest.raises(ValueError):
        isolation.probe("chroot")


def test_report_names_the_active_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(isolation.FORCE_ENV, raising=False)
    report = isolation.isolation_report()
    assert set(report) >= {"layer", "unavailable", "fix", "commands"}
    assert report["layer"] in isolation.ORDER


def test_bwrap_argv_protects_git_hides_baton_and_cuts_network(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".baton").mkdir()
    argv = isolation.bwrap_argv(tmp_path, ["true"], network=False, seccomp_fd=7,
                                protected=[tmp_path / ".git", tmp_path / ".baton"])
    s = " ".join(argv)
    assert f"--ro-bind {tmp_path}/.git {tmp_path}/.git" in s
    assert f"--tmpfs {tmp_path}/.baton" in s
    for flag in ("--unshare-net", "--die-with-parent", "--new-session", "--ro-bind / /",
                 "--tmpfs /tmp", "--cap-drop ALL", "--seccomp 7", "--unshare-pid"):
        assert flag in s
    assert "--unshare-net" not in isolation.bwrap_argv(tmp_path, ["true"], network=True,
                                                       seccomp_fd=7)


def test_bwrap_never_makes_the_command_uid_0(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(isolation.os, "getuid", lambda: 0)
    monkeypatch.setattr(isolation.os, "getgid", lambda: 0)
    argv = isolation.bwrap_argv(tmp_path, ["true"], network=False, seccomp_fd=3)
    assert argv[argv.index("--uid") + 1] == "65534" and argv[argv.index("--gid") + 1] == "65534"
    monkeypatch.setattr(isolation.os, "getuid", lambda: 1000)
    argv = isolation.bwrap_argv(tmp_path, ["true"], network=False, seccomp_fd=3)
    assert argv[argv.index("--uid") + 1] == "1000"


@pytest.mark.parametrize("status,why", [
    ("CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapAmb:\t0\nNoNewPrivs:\t1\nSeccomp:\t2\n", None),
    ("CapInh:\t0\nCapPrm:\t1fffe\nCapEff:\t1fffe\nCapAmb:\t0\nNoNewPrivs:\t1\nSeccomp:\t2\n",
     "capabilities are not dropped"),
    ("CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapAmb:\t0\nNoNewPrivs:\t0\nSeccomp:\t2\n",
     "no_new_privs"),
    ("CapInh:\t0\nCapPrm:\t0\nCapEff:\t0\nCapAmb:\t0\nNoNewPrivs:\t1\nSeccomp:\t0\n",
     "seccomp"),
    ("", "capabilities are not dropped"),
])
def test_a_layer_that_does_not_confine_is_caught(status: str, why: str | None) -> None:
    got = isolation.unconfined(status)
    assert (got is None) if why is None else (why in got)


def test_landlock_without_signal_scoping_is_refused_with_the_reason(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(landlock_exec, "abi_version", lambda: 4)
    abi, why = isolation.probe_landlock()
    assert abi == 4 and "cannot keep a command from signalling" in why and "6.12" in why
    r = isolation.probe(None, "/nonexistent/bwrap")
    assert r.layer in ("none", "sandbox-exec") and "landlock" in r.reasons


def test_report_lists_every_guarantee_for_the_active_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(isolation.FORCE_ENV, "none")
    g = isolation.isolation_report()["guarantees"]
    assert set(g) == set(isolation.GUARANTEES) and all(v.startswith("MISSING") for v in g.values())
    monkeypatch.delenv(isolation.FORCE_ENV)
    r = isolation.active()
    if r.layer in ("bwrap", "landlock"):
        g = isolation.guarantees(r)
        assert all(v.startswith("yes: ") for v in g.values()), g


def test_seatbelt_profile_denies_writes_outside() -> None:
    p = isolation.seatbelt_profile(["/work/view"], network=False)
    assert "(deny file-write*)" in p and '(subpath "/work/view")' in p and "network-outbound" in p
    assert "network-outbound" not in isolation.seatbelt_profile(["/v"], network=True)


def test_landlock_wrapper_restricts_writes(tmp_path: Path) -> None:
    require_layer("landlock")
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    allowed.mkdir()
    other.mkdir()
    r = subprocess.run([*isolation.helper_argv("landlock_exec"), "--write", str(allowed), "--",
                        "/bin/sh", "-c", f"echo a > {allowed}/f; echo b > {other}/f"],
                       capture_output=True, text=True, timeout=30)
    assert (allowed / "f").read_text() == "a\n"
    assert not (other / "f").exists() and "Permission denied" in r.stderr


def test_landlock_wrapper_rejects_bad_arguments() -> None:
    assert landlock_exec.main(["--bogus"]) == 125
    assert landlock_exec.main(["--write", "/tmp", "--"]) == 125
