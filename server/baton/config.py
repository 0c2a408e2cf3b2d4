"""The TOML configuration (PROTOCOL §2) as pydantic models.

This is the only module that reads the environment: API keys are looked up here,
by the variable a provider names, and handed out as values that never get logged.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator,
                      model_validator)

from .config_errors import (OVERRIDES, Mistake, Source, config_error, from_validation, suggestion,
                            unknown_key)
from .display import visible
from .errors import ConfigError
from .trust import TrustStore, UnsafeConfig, WorkspaceFile, read_workspace_config, workspace_config_path

log = logging.getLogger(__name__)

ROLES = ("classifier", "planner", "implementer", "reviewer")
ProviderKind = Literal["anthropic", "openai", "openai-compatible", "scripted"]

DEFAULT_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
# What a workspace's own .baton/config.toml may set before the person trusts it (PROTOCOL §2).
UNTRUSTED_TABLES = ("edits", "limits")
DEMO_SCRIPT = Path(__file__).parent / "demo" / "script.json"


class ProviderConfig(BaseModel):
    # Adapters take their own optional knobs (context_window, max_output_tokens,
    # native_tools, prices, ...) from the same table, so extra keys are kept.
    model_config = ConfigDict(extra="allow")

    kind: ProviderKind
    model: str = ""
    api_key_env: str | None = None
    base_url: str | None = None
    script: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    # The longest silence on a live connection (before the first byte too), and how long
    # opening one may take: a thinking model is not a dead server (providers/transport.py).
    timeout_s: float = Field(default=600.0, gt=0, allow_inf_nan=False)
    connect_timeout_s: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    max_retries: int = 3

    def key_env(self) -> str | None:
        return self.api_key_env or DEFAULT_KEY_ENV.get(self.kind)

    def api_key(self, env: Mapping[str, str] | None = None) -> SecretStr | None:
        name = self.key_env()
        if not name:
            return None
        value = (os.environ if env is None else env).get(name)
        return SecretStr(value) if value else None


class PermissionsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    write: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)
    network: bool = False
    # Explicit per-workspace opt-in to run commands with no OS isolation at all.
    allow_unsandboxed_commands: bool = False
    # Variables commands get besides PATH, HOME, LANG/LC_*, TERM, TZ, USER, SHELL, TMPDIR
    # (sandbox/environment.py); a provider's key variable is never passed, even if listed.
    env: list[str] = Field(default_factory=list)


class EditsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["stream", "review"] = "stream"


class LimitsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_turns: dict[str, int] = Field(
        default_factory=lambda: {"classifier": 3, "planner": 25, "implementer": 50, "reviewer": 20})
    review_rounds: int = 2
    client_request_timeout_s: float = Field(default=30.0, gt=0, le=86400, allow_inf_nan=False)
    edit_max_lines: int = 40
    # Per-run budgets; 0 means no limit. A run that goes over fails with the figures.
    run_tokens: int = Field(default=0, ge=0)
    run_cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    # The time Baton works on a run (agents' turns, tool calls, verification; never the time
    # it waits for the person), in seconds.
    run_seconds: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    # A run's shadow (what its agents and commands wrote, with the base of each file): bytes
    # stored and files touched. Bounds the disk one run can fill; there is no "unlimited".
    shadow_max_bytes: int = Field(default=256 * 2**20, gt=0)
    shadow_max_files: int = Field(default=5_000, gt=0)


def _lower(mine: Any, theirs: Any) -> Any:
    return min(mine, theirs)


def _higher(mine: Any, theirs: Any) -> Any:
    return max(mine, theirs)


def _lower_budget(mine: Any, theirs: Any) -> Any:
    """For budgets where 0 means no limit: the smaller limit that is one."""
    return theirs if not mine else mine if not theirs else min(mine, theirs)


def _lower_each(mine: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    return {k: min(v, theirs.get(k, v)) for k, v in mine.items()}


# How [limits] from an untrusted workspace file combine with the person's own (user file,
# initializationOptions, defaults): a repository may make Baton stricter (fewer turns and
# review rounds, smaller budgets, earlier promotion of an edit to a plan) or more patient
# with the editor (a longer client timeout only delays a prompt's default answer, Deny);
# never looser. A field with no rule here is ignored from an untrusted file, and
# tests/unit/test_config.py fails until it has one.
UNTRUSTED_LIMITS = {
    "max_turns": _lower_each,
    "review_rounds": _lower,
    "client_request_timeout_s": _higher,
    "edit_max_lines": _lower,
    "run_tokens": _lower_budget,
    "run_cost_usd": _lower_budget,
    "run_seconds": _lower_budget,
    "shadow_max_bytes": _lower,
    "shadow_max_files": _lower,
}


class McpServerConfig(BaseModel):
    """`[mcp.servers.NAME]` (PROTOCOL §2), checked for shape; a trusted file's alone apply."""
    model_config = ConfigDict(extra="forbid")
    command: list[str] = Field(default_factory=list)
    url: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    roles: list[str] | None = None
    network: bool = False
    allow: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: list[str] | None) -> list[str] | None:
        unknown = set(roles or ()) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {', '.join(ROLES)}")
        return roles

    def sees(self, role: str) -> bool:
        """Whether `role` is offered this server's tools (by default every role but the
        classifier, which only routes)."""
        return role in (self.roles if self.roles is not None else ROLES[1:])

    @model_validator(mode="after")
    def _one_transport(self) -> McpServerConfig:
        if bool(self.command) == bool(self.url):
            raise ValueError("give either `command` (a stdio server) or `url` (streamable HTTP)")
        return self


class McpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    servers: dict[str, McpServerConfig] = Field(default_factory=dict)

    @field_validator("servers")
    @classmethod
    def _names(cls, servers: dict[str, McpServerConfig]) -> dict[str, McpServerConfig]:
        from .mcp.tools import check_server_name  # each name is part of its tools' names
        for name in servers:
            check_server_name(name)
        return servers


class VerifyConfig(BaseModel):
    """`[verify]` (PROTOCOL §2): commands run on a run's shadow; a trusted file's alone apply."""
    model_config = ConfigDict(extra="forbid")
    commands: list[str] = Field(default_factory=list)
    rounds: int = Field(default=2, ge=0)
    # Each command's time limit; at the limit it is killed with everything it started.
    timeout_s: float = Field(default=300.0, gt=0, le=86400, allow_inf_nan=False)


class WorkspaceTrust(BaseModel):
    """How the workspace's own .baton/config.toml was taken; not a TOML key."""
    path: Path
    digest: str | None = None      # sha256 of what was read; None when it could not be read
    trusted: bool = False
    ignored: list[str] = Field(default_factory=list)  # its tables that did not apply, untrusted

    def notice(self) -> str | None:
        """What to tell the person, once: what was ignored and how to trust it; None if nothing.
        One line, control and bidi characters (in a table name, a path) shown as escapes."""
        if self.trusted or not self.ignored:
            return None
        tables = ", ".join(f"[{t}]" for t in self.ignored)
        return visible(f"Baton ignores {tables} in {self.path}: this workspace's configuration came "
                       "with the folder and is not trusted yet. Review the file, then trust it with "
                       f"`baton trust --workspace {self.path.parent.parent}` (or “Trust this "
                       "configuration” in your editor); until then only its [edits] and [limits] "
                       "apply.")


class RolesConfig(BaseModel):
    """`[roles]`: one provider name, or a list = failover order; unset, the first provider."""
    model_config = ConfigDict(extra="forbid")
    classifier: str | list[str] | None = None
    planner: str | list[str] | None = None
    implementer: str | list[str] | None = None
    reviewer: str | list[str] | None = None


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    roles: RolesConfig = Field(default_factory=RolesConfig)
    permissions: PermissionsConfig = Field(default_factory=PermissionsConfig)
    edits: EditsConfig = Field(default_factory=EditsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    mcp: McpConfig = Field(default_factory=McpConfig)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    # Where relative paths (a scripted provider's script) resolve from; not a TOML key.
    base_dir: Path = Field(default=Path("."), exclude=True)
    # How the configuration was found, for `baton doctor` and the one-time notice.
    origin: list[str] = Field(default_factory=list, exclude=True)
    # The workspace file's trust, for the notice, `baton doctor` and the trust action.
    workspace_file: WorkspaceTrust | None = Field(default=None, exclude=True)
    # The initializationOptions.config it was loaded with, to load it again once trusted.
    overrides: dict[str, Any] | None = Field(default=None, exclude=True)

    def chain(self, role: str) -> list[str]:
        """The failover order of providers bound to `role`."""
        bound = getattr(self.roles, role)
        if bound is None:
            return [next(iter(self.providers))]
        return [bound] if isinstance(bound, str) else list(bound)

    def script_path(self, provider: ProviderConfig) -> Path:
        if not provider.script:
            return DEMO_SCRIPT
        p = Path(provider.script)
        return p if p.is_absolute() else (self.base_dir / p)

    @property
    def offline(self) -> bool:
        return all(p.kind == "scripted" for p in self.providers.values())


# The tables a configuration file may hold (the rest of Config's fields are not TOML keys).
TABLES = tuple(name for name, f in Config.model_fields.items() if not f.exclude)
# How close an unknown provider key must be to a declared one (`modle` → `model`) to be taken
# for a misspelling of it rather than an adapter's knob.
PROVIDER_TYPO_CUTOFF = 0.8


def user_config_dir(env: Mapping[str, str] | None = None) -> Path:
    """`<user config dir>/baton`: the person's own, never the workspace's."""
    env = os.environ if env is None else env
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "baton"


def user_config_file(env: Mapping[str, str] | None = None) -> Path:
    return user_config_dir(env) / "config.toml"


def trust_store(env: Mapping[str, str] | None = None) -> TrustStore:
    return TrustStore(user_config_dir(env) / "trusted.json")


def config_files(workspace: Path | None, env: Mapping[str, str] | None = None) -> list[Path]:
    """What `load_config` reads, whether or not each exists now: $BATON_CONFIG alone, else
    the user file, the trust store (it decides what of the workspace file applies) and the
    workspace file. A change to any of them can change the configuration."""
    env = os.environ if env is None else env
    if env.get("BATON_CONFIG"):
        return [Path(env["BATON_CONFIG"]).expanduser()]
    files = [user_config_file(env), trust_store(env).path]
    return files + ([workspace_config_path(workspace)] if workspace is not None else [])


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # "Invalid value (at line 3, column 7)" → "path:3:7: not valid TOML: Invalid value"
        m = re.fullmatch(r"(.*) \(at line (\d+), column (\d+)\)", str(e), re.S)
        where, why = (f"{path}:{m[2]}:{m[3]}", m[1]) if m else (str(path), str(e))
        raise ConfigError(visible(f"{where}: not valid TOML: {why}")) from e
    except RecursionError:  # tables or arrays nested thousands deep
        raise ConfigError(visible(f"{path}: not valid TOML: nested too deeply")) from None


def _read_file(path: Path) -> Source:
    try:
        with path.open("rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(visible(f"{path}: cannot read: {e.strerror}")) from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(visible(f"{path}: not UTF-8 (byte {e.start})")) from e
    return Source(str(path), _parse(text, path), text)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def autodetect(env: Mapping[str, str]) -> tuple[dict[str, Any], str]:
    """Providers and roles when none are configured: whatever key is there, else offline."""
    if env.get("ANTHROPIC_API_KEY"):
        return ({"providers": {"claude": {"kind": "anthropic", "model": "claude-sonnet-4-6"},
                               "claude-fast": {"kind": "anthropic", "model": "claude-haiku-4-5"}},
                 "roles": {"classifier": "claude-fast", "planner": "claude",
                           "implementer": "claude", "reviewer": "claude"}},
                "ANTHROPIC_API_KEY is set: Anthropic for every role")
    if env.get("OPENAI_API_KEY"):
        return ({"providers": {"gpt": {"kind": "openai", "model": "gpt-5-mini"},
                               "gpt-fast": {"kind": "openai", "model": "gpt-5-nano"}},
                 "roles": {"classifier": "gpt-fast", "planner": "gpt",
                           "implementer": "gpt", "reviewer": "gpt"}},
                "OPENAI_API_KEY is set: OpenAI for every role")
    return ({"providers": {"offline": {"kind": "scripted"}}},
            "no provider configured and no API key set: using the offline scripted provider "
            "on its demo script")


def load_config(workspace: Path | None, overrides: Mapping[str, Any] | None = None,
                env: Mapping[str, str] | None = None) -> Config:
    """$BATON_CONFIG, else the workspace file over the user file; `overrides` on top.

    The workspace file applies whole only when the person trusts its content
    (`trust_workspace`); until then only its [edits], and [limits] that make Baton
    stricter (UNTRUSTED_LIMITS). Any mistake, in any layer, raises ConfigError naming
    the file, line and key: Baton never falls back to other settings (see
    lsp/engine_process.py)."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    origin: list[str] = []
    sources: list[Source] = []  # what each layer wrote, to say where a mistake is
    base_dir = workspace or Path.cwd()
    ws_trust: WorkspaceTrust | None = None
    untrusted: dict[str, Any] = {}
    if env.get("BATON_CONFIG"):
        path = Path(env["BATON_CONFIG"]).expanduser()
        sources.append(_read_file(path))
        data = dict(sources[-1].data)
        origin.append(str(path))
        base_dir = path.parent
    else:
        user = user_config_file(env)
        if user.is_file():
            sources.append(_read_file(user))
            data = _anchored(dict(sources[-1].data), user.parent)
            origin.append(str(user))
            base_dir = user.parent
        if workspace is not None:
            ws_trust, ws_source = _workspace_layer(workspace, env)
            if ws_trust is not None and ws_source is not None:
                sources.append(ws_source)
                if ws_trust.trusted:
                    data = _merge(data, _anchored(dict(ws_source.data), ws_trust.path.parent))
                    origin.append(str(ws_trust.path))
                    base_dir = ws_trust.path.parent
                elif ws_source.data:
                    untrusted = dict(ws_source.data)
                    origin.append(f"{ws_trust.path} (not trusted: only its [edits] and [limits] apply)")
    if "edits" in untrusted:
        data = _merge(data, {"edits": untrusted["edits"]})
    if overrides:
        sources.append(Source(OVERRIDES, overrides))
        data = _merge(data, overrides)
        origin.append(OVERRIDES)
    if "limits" in untrusted:
        data["limits"] = _stricter_limits(data.get("limits", {}), untrusted["limits"])
    if not data.get("providers"):
        detected, why = autodetect(env)
        data = _merge(data, detected)
        origin.append(why)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise config_error(from_validation(e, Config, data), sources, e.error_count()) from None
    mistakes = _cross_checks(config)
    if mistakes:
        raise config_error(mistakes, sources)
    config.base_dir = base_dir
    config.origin = origin
    config.workspace_file = ws_trust
    config.overrides = dict(overrides) if overrides else None
    return config


def _cross_checks(config: Config) -> list[Mistake]:
    """What each table's model cannot see alone: a role naming a provider that is not
    configured, and a provider key that looks like a misspelt one of its own (the other
    keys of a provider table are its adapter's knobs, which the adapters read)."""
    out = []
    names = list(config.providers)
    for role in ROLES:
        for name in config.chain(role):
            if name not in config.providers:
                out.append(Mistake(("roles", role), f"names provider {name!r}, which is not in "
                                   f"[providers]{suggestion(name, names)}"))
    declared = list(ProviderConfig.model_fields)
    for name, provider in config.providers.items():
        for key in provider.model_extra or {}:
            if key == "api_key":  # a key written into a file that a repository or a backup may carry
                out.append(Mistake(("providers", name, key), "Baton reads keys only from the "
                                   "environment: export the key and name its variable with api_key_env"))
            elif difflib.get_close_matches(key, declared, n=1, cutoff=PROVIDER_TYPO_CUTOFF):
                out.append(unknown_key(("providers", name, key), declared))
    return out


def _anchored(data: dict[str, Any], folder: Path) -> dict[str, Any]:
    """A file's relative `script` paths made absolute from its own folder, so a layer over
    it (the workspace file over the user file) does not move what the user file names."""
    providers = data.get("providers")
    if not isinstance(providers, dict):
        return data
    out = {}
    for name, p in providers.items():
        if isinstance(p, dict) and isinstance(p.get("script"), str) and not Path(p["script"]).is_absolute():
            p = {**p, "script": str(folder / p["script"])}
        out[name] = p
    return {**data, "providers": out}


def _workspace_layer(workspace: Path, env: Mapping[str, str]) -> tuple[WorkspaceTrust | None, Source | None]:
    """The workspace file's trust and what of it applies: all of it when trusted, else its
    untrusted tables ([edits], [limits]).

    A file Baton cannot read or parse, a mistake in the tables that apply, or a table Baton
    does not know is an error even when the file is not trusted: what it meant to set
    (review mode, a budget) is unknown, and going on without it would run looser than it
    says. A repository can only stop Baton in itself that way, visibly, with the file and
    line named; it cannot make Baton use other settings. The tables trust ignores are not
    checked until the file is trusted (`trust_workspace` checks all of it)."""
    try:
        file = read_workspace_config(workspace)
    except UnsafeConfig as e:
        raise ConfigError(visible(f"the workspace configuration cannot be used: {e}")) from None
    if file is None:
        return None, None
    trust = WorkspaceTrust(path=file.path, digest=file.digest,
                           trusted=trust_store(env).is_trusted(file))
    source = Source(str(file.path), _parse(file.text, file.path), file.text)
    if trust.trusted:
        return trust, source
    trust.ignored = sorted(k for k in source.data if k in TABLES and k not in UNTRUSTED_TABLES)
    kept = {k: v for k, v in source.data.items() if k not in trust.ignored}
    try:
        Config.model_validate(kept)  # [edits], [limits], and any name Baton does not know
    except ValidationError as e:
        raise config_error(from_validation(e, Config, kept), [source], e.error_count()) from None
    return trust, Source(source.name, kept, source.text)


def _stricter_limits(mine_raw: Any, theirs_raw: dict[str, Any]) -> Any:
    """The person's [limits] with each field an untrusted file sets made stricter by it."""
    try:
        mine = LimitsConfig.model_validate(mine_raw)
    except ValidationError:
        return mine_raw  # the person's own mistake: reported when the whole is validated
    theirs = LimitsConfig.model_validate(theirs_raw)  # validated in _workspace_layer
    out = dict(mine_raw)
    for name in sorted(theirs.model_fields_set):
        rule = UNTRUSTED_LIMITS.get(name)
        if rule is None:
            log.warning("[limits] %s from an untrusted workspace file is ignored", name)
            continue
        out[name] = rule(getattr(mine, name), getattr(theirs, name))
    return out


def trust_workspace(workspace: Path, digest: str | None = None,
                    env: Mapping[str, str] | None = None) -> WorkspaceFile:
    """Trusts the workspace's .baton/config.toml as it is now (`baton trust`, the
    `baton.workspace.trust` command). With `digest`, only if the file still holds that
    content: what the person was asked about, not what replaced it since."""
    path = workspace_config_path(workspace)
    try:
        file = read_workspace_config(workspace)
    except UnsafeConfig as e:
        raise ConfigError(f"cannot trust it: {e}") from None
    if file is None:
        raise ConfigError(f"there is no {path} to trust")
    if digest is not None and file.digest != digest:
        raise ConfigError(f"{path} changed since Baton asked about it; review it again, then trust it")
    data = _parse(file.text, file.path)
    try:
        Config.model_validate(data)
    except ValidationError as e:
        error = config_error(from_validation(e, Config, data), [Source(str(path), data, file.text)],
                             e.error_count())
        raise ConfigError(f"{error}; fix it before trusting it") from None
    trust_store(env).trust(file.path, file.digest)
    return file
