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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from .errors import ConfigError

log = logging.getLogger(__name__)

ROLES = ("classifier", "planner", "implementer", "reviewer")
ProviderKind = Literal["anthropic", "openai", "openai-compatible", "scripted"]

DEFAULT_KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
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


class EditsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["stream", "review"] = "stream"


class LimitsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_turns: dict[str, int] = Field(
        default_factory=lambda: {"classifier": 3, "planner": 25, "implementer": 50, "reviewer": 20})
    review_rounds: int = 2
    client_request_timeout_s: float = 30.0
    edit_max_lines: int = 40
    # Per-run budgets; 0 means no limit. A run that goes over fails with the figures.
    run_tokens: int = Field(default=0, ge=0)
    run_cost_usd: float = Field(default=0.0, ge=0)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    providers: dict[str, ProviderConfig] = Field(default_factory=dict)
    roles: dict[str, str | list[str]] = Field(default_factory=dict)
    permissions: PermissionsConfig = Field(default_factory=PermissionsConfig)
    edits: EditsConfig = Field(default_factory=EditsConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    # Where relative paths (a scripted provider's script) resolve from; not a TOML key.
    base_dir: Path = Field(default=Path("."), exclude=True)
    # How the configuration was found, for `baton doctor` and the one-time notice.
    origin: list[str] = Field(default_factory=list, exclude=True)

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


def user_config_file(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "baton" / "config.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e


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
    """$BATON_CONFIG, else the workspace file over the user file; `overrides` on top."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    origin: list[str] = []
    base_dir = workspace or Path.cwd()
    if env.get("BATON_CONFIG"):
        path = Path(env["BATON_CONFIG"]).expanduser()
        data = _read_toml(path)
        origin.append(str(path))
        base_dir = path.parent
    else:
        user = user_config_file(env)
        if user.is_file():
            data = _read_toml(user)
            origin.append(str(user))
            base_dir = user.parent
        if workspace is not None:
            ws = workspace / ".baton" / "config.toml"
            if ws.is_file():
                data = _merge(data, _read_toml(ws))
                origin.append(str(ws))
                base_dir = ws.parent
    if overrides:
        data = _merge(data, overrides)
        origin.append("initializationOptions.config")
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
    return config


def _explain(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())


def defaults(env: Mapping[str, str] | None = None) -> Config:
    """The configuration with no file at all: whatever provider a key allows, else offline."""
    detected, why = autodetect(os.environ if env is None else env)
    config = Config.model_validate(detected)
    config.origin = [why]
    return config
