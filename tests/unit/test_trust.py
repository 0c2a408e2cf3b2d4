"""The trust store and the safe read of a workspace's .baton/config.toml (baton/trust.py)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading

import pytest

from baton.trust import MAX_CONFIG_BYTES, TrustStore, UnsafeConfig, read_workspace_config


def workspace(tmp_path, content: bytes = b'[edits]\nmode = "review"\n'):
    ws = tmp_path / "ws"
    (ws / ".baton").mkdir(parents=True)
    (ws / ".baton" / "config.toml").write_bytes(content)
    return ws


def test_read_gives_text_and_the_digest_of_the_exact_bytes(tmp_path):
    ws = workspace(tmp_path, b"[edits]\r\nmode = \"review\"\r\n")
    f = read_workspace_config(ws)
    assert f is not None
    assert f.path == ws.resolve() / ".baton" / "config.toml"
    assert f.text == "[edits]\r\nmode = \"review\"\r\n"
    assert f.digest == hashlib.sha256(b"[edits]\r\nmode = \"review\"\r\n").hexdigest()


def test_no_file_or_a_file_named_baton_is_no_configuration(tmp_path):
    assert read_workspace_config(tmp_path) is None
    (tmp_path / ".baton").write_text("not a folder")
    assert read_workspace_config(tmp_path) is None


def test_a_workspace_reached_through_a_link_is_keyed_by_its_real_path(tmp_path):
    ws = workspace(tmp_path)
    (tmp_path / "alias").symlink_to(ws)
    f = read_workspace_config(tmp_path / "alias")
    assert f is not None and f.path == ws.resolve() / ".baton" / "config.toml"


@pytest.mark.parametrize("make,match", [
    (lambda ws, elsewhere: (ws / ".baton" / "config.toml").symlink_to(elsewhere), "symbolic link"),
    (lambda ws, elsewhere: (ws / ".baton" / "config.toml").mkdir(), "not a regular file"),
    (lambda ws, elsewhere: os.mkfifo(ws / ".baton" / "config.toml"), "not a regular file"),
    (lambda ws, elsewhere: (ws / ".baton" / "config.toml").write_bytes(b"#" * (MAX_CONFIG_BYTES + 1)),
     "larger than"),
    (lambda ws, elsewhere: (ws / ".baton" / "config.toml").write_bytes(b"[edits]\nmode = \"\xff\"\n"),
     "not UTF-8"),
])
def test_unsafe_files_are_refused_with_the_reason(tmp_path, make, match):
    ws = tmp_path / "ws"
    (ws / ".baton").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text("[edits]\n")
    make(ws, elsewhere)
    with pytest.raises(UnsafeConfig, match=match):
        read_workspace_config(ws)


def test_a_linked_baton_folder_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (real / "config.toml").write_text("[edits]\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / ".baton").symlink_to(real)
    with pytest.raises(UnsafeConfig, match="symbolic link"):
        read_workspace_config(ws)


def test_trust_is_recorded_by_path_and_digest_and_a_change_undoes_it(tmp_path):
    ws = workspace(tmp_path)
    store = TrustStore(tmp_path / "cfg" / "baton" / "trusted.json")
    f = read_workspace_config(ws)
    assert f is not None and not store.is_trusted(f)
    store.trust(f.path, f.digest)
    assert store.is_trusted(f)
    data = json.loads(store.path.read_text())
    assert data["version"] == 1 and data["files"][str(f.path)]["sha256"] == f.digest
    (ws / ".baton" / "config.toml").write_bytes(b'[edits]\nmode = "stream"\n')
    changed = read_workspace_config(ws)
    assert changed is not None and not store.is_trusted(changed)


def test_trusting_new_content_replaces_the_old(tmp_path):
    ws = workspace(tmp_path)
    store = TrustStore(tmp_path / "trusted.json")
    first = read_workspace_config(ws)
    assert first is not None
    store.trust(first.path, first.digest)
    (ws / ".baton" / "config.toml").write_bytes(b"[limits]\n")
    second = read_workspace_config(ws)
    assert second is not None
    store.trust(second.path, second.digest)
    assert store.is_trusted(second) and not store.is_trusted(first)


def test_the_store_is_private_and_written_whole(tmp_path):
    store = TrustStore(tmp_path / "cfg" / "trusted.json")
    store.trust(tmp_path / "a" / ".baton" / "config.toml", "0" * 64)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    assert not [p for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_concurrent_trusts_lose_nothing(tmp_path):
    store = TrustStore(tmp_path / "trusted.json")
    paths = [tmp_path / f"w{i}" / ".baton" / "config.toml" for i in range(16)]
    threads = [threading.Thread(target=store.trust, args=(p, f"{i:064x}")) for i, p in enumerate(paths)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = json.loads(store.path.read_text())["files"]
    assert set(files) == {str(p) for p in paths}


@pytest.mark.parametrize("content", [b"{not json", b"[]", b'{"files": []}', b"\x00" * 10])
def test_a_corrupt_store_trusts_nothing_and_is_replaced_on_the_next_trust(tmp_path, content):
    ws = workspace(tmp_path)
    f = read_workspace_config(ws)
    assert f is not None
    store = TrustStore(tmp_path / "trusted.json")
    store.path.write_bytes(content)
    assert not store.is_trusted(f)
    store.trust(f.path, f.digest)
    assert store.is_trusted(f)
