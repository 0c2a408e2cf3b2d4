"""The environment a command (or an MCP server) gets: an allow-list, never the daemon's.

The daemon's environment holds the person's API keys and tokens under any name a tool
chose (`GROQ_KEY`, `LLM_BEARER`, whatever a provider's `api_key_env` says), so removing
known names cannot be complete. Only these pass:

- a small fixed set a shell and build tools expect (BASE, and LC_*);
- the names the person lists in `[permissions] env`.

Never, even when listed: a variable any provider configuration names as its key. A name
that looks like a secret (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, AUTH) passes only when
listed explicitly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

BASE = frozenset({"PATH", "HOME", "LANG", "TERM", "TZ", "USER", "SHELL", "TMPDIR"})
LOCALE_PREFIX = "LC_"
SECRET_LOOKING = re.compile(r"KEY|TOKEN|SECRET|PASSW(OR)?D|CREDENTIAL|AUTH", re.I)


def looks_secret(name: str) -> bool:
    return SECRET_LOOKING.search(name) is not None


def child_env(*, allow: Iterable[str] = (), provider_keys: Iterable[str | None] = (),
              base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables of `base` (default: this process's environment) a child may see.
    `allow`: `[permissions] env`; `provider_keys`: every provider's `key_env()`."""
    source = os.environ if base is None else base
    listed = set(allow)
    never = {k for k in provider_keys if k}
    out = {}
    for name, value in source.items():
        if name in never:
            continue
        if name in listed or ((name in BASE or name.startswith(LOCALE_PREFIX))
                              and not looks_secret(name)):
            out[name] = value
    return out
