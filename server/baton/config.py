"""The TOML configuration (PROTOCOL §2) as pydantic models.

This is the only module that reads the environment: API keys are looked up here,
by the variable a provider names, and handed out as values that never get logged.
"""

from __future__ import annotations

import logging
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator,
                      model_validator)

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
    timeout_s: float = 120.0
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
    problem: str | None = None     # why the file was not used at all

    def notice(self) -> str | None:
        """What to tell the person, once: what was ignored and how to trust it; None if nothing.
        One line, control and bidi characters (in a table name, a path) shown as escapes."""
        if self.problem:
            return visible(f"Baton does not use the workspace configuration: {self.problem}.")
        if self.trusted or not self.ignored:
            return None
        tables = ", ".join(f"[{t}]" for t in self.ignored)
        return visible(f"Baton ignores {tables} in {self.path}: this workspace's configuration came "
                       "with the folder and is not trusted yet. Review the file, then trust it with "
                       f"`baton trust --workspace {self.path.parent.parent}` (or “Trust this "
                       "configuration” in your editor); until then only its [edits] and [limits] "
                       "apply.")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    roles: dict[str, str | list[str]] = Field(default_factory=dict)
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

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, Any]) -> dict[str, Any]:
        unknown = set(roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {', '.join(ROLES)}")
        return roles

    def chain(self, role: str) -> list[str]:
        """The failover order of providers bound to `role`."""
        bound = self.roles.get(role)
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


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    except RecursionError:  # tables or arrays nested thousands deep
        raise ConfigError(f"{path}: not valid TOML: nested too deeply") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 (byte {e.start})") from e
    return _parse(text, path)


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
    stricter (UNTRUSTED_LIMITS)."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    origin: list[str] = []
    base_dir = workspace or Path.cwd()
    ws_trust: WorkspaceTrust | None = None
    untrusted: dict[str, Any] = {}
    if env.get("BATON_CONFIG"):
        path = Path(env["BATON_CONFIG"]).expanduser()
        data = _read_toml(path)
        origin.append(str(path))
        base_dir = path.parent
    else:
        user = user_config_file(env)
        if user.is_file():
            data = _anchored(_read_toml(user), user.parent)
            origin.append(str(user))
            base_dir = user.parent
        if workspace is not None:
            ws_trust, ws_data = _workspace_layer(workspace, env)
            if ws_trust is not None and ws_trust.trusted:
                data = _merge(data, _anchored(ws_data, ws_trust.path.parent))
                origin.append(str(ws_trust.path))
                base_dir = ws_trust.path.parent
            elif ws_trust is not None and ws_data:
                untrusted = ws_data
                origin.append(f"{ws_trust.path} (not trusted: only its [edits] and [limits] apply)")
    if "edits" in untrusted:
        data = _merge(data, {"edits": untrusted["edits"]})
    if overrides:
        data = _merge(data, overrides)
        origin.append("initializationOptions.config")
    if "limits" in untrusted:
        data["limits"] = _stricter_limits(data.get("limits", {}), untrusted["limits"])
    if not data.get("providers"):
        detected, why = autodetect(env)
        data = _merge(data, detected)
        origin.append(why)
    try:
        config = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"configuration ({', '.join(origin) or 'defaults'}): {_explain(e)}") from e
    for role in ROLES:
        for name in config.chain(role):
            if name not in config.providers:
                raise ConfigError(f"role {role!r} names provider {name!r}, which is not in [providers]")
    config.base_dir = base_dir
    config.origin = origin
    config.workspace_file = ws_trust
    config.overrides = dict(overrides) if overrides else None
    return config


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


def _workspace_layer(workspace: Path, env: Mapping[str, str]) -> tuple[WorkspaceTrust | None, dict[str, Any]]:
    """The workspace file's trust and what of it applies: all of it when trusted, else its
    untrusted tables once they validate. A problem with an untrusted file is said, not
    raised: a repository must not be able to switch off the person's own configuration."""
    try:
        file = read_workspace_config(workspace)
    except UnsafeConfig as e:
        return WorkspaceTrust(path=workspace_config_path(workspace), problem=str(e)), {}
    if file is None:
        return None, {}
    trust = WorkspaceTrust(path=file.path, digest=file.digest,
                           trusted=trust_store(env).is_trusted(file))
    try:
        data = _parse(file.text, file.path)
    except ConfigError as e:
        if trust.trusted:
            raise
        trust.problem = str(e)
        return trust, {}
    if trust.trusted:
        return trust, data
    trust.ignored = sorted(k for k in data if k not in UNTRUSTED_TABLES)
    kept = {k: data[k] for k in UNTRUSTED_TABLES if k in data}
    try:
        Config.model_validate(kept)
    except ValidationError as e:
        trust.problem = f"{file.path}: {_explain(e)}"
        return trust, {}
    return trust, kept


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
    try:
        Config.model_validate(_parse(file.text, file.path))
    except ValidationError as e:
        raise ConfigError(f"{path}: {_explain(e)}; fix it before trusting it") from None
    trust_store(env).trust(file.path, file.digest)
    return file


def _explain(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())


def defaults(env: Mapping[str, str] | None = None) -> Config:
    """The configuration with no file at all: whatever provider a key allows, else offline."""
    detected, why = autodetect(os.environ if env is None else env)
    config = Config.model_validate(detected)
    config.origin = [why]
    return config
