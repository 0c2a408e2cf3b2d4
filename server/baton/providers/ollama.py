"""The context window an Ollama server really gives a model through its OpenAI endpoint.

Ollama's `/v1/chat/completions` cannot set the context size per request (its documentation
says so; `options.num_ctx` is ignored there), and Ollama silently drops the front of a
prompt longer than the window in force, system prompt and tools first, still answering
200. The window in force is, in Ollama's order: the model's Modelfile `num_ctx`, else the
server's `OLLAMA_CONTEXT_LENGTH`, else its default (4096 tokens below 24 GiB of VRAM, more
above), never more than the model was trained for. Ollama's native API on the same host
says most of it: `/api/show` gives the trained length (`model_info["<arch>.context_length"]`)
and the Modelfile parameters, `/api/ps` the window of a loaded model (`context_length`).
Any other server answers 404 there, and is then not asked again.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 4096  # Ollama's documented default on the smallest machines
_NUM_CTX = re.compile(r"^\s*num_ctx\s+(\d+)\s*$", re.MULTILINE)
SANE_WINDOW = range(256, 100_000_001)  # a window outside this is a broken or hostile answer


class OllamaModel(BaseModel):
    trained: int | None = None  # the model's own maximum
    modelfile: int | None = None  # num_ctx set in its Modelfile
    loaded: int | None = None  # the window it is loaded with now (/api/ps)

    def window(self, configured: int | None) -> int:
        """The window requests get: what is loaded, else what the Modelfile sets, else the
        configured one (the person set the server's OLLAMA_CONTEXT_LENGTH to match), else
        Ollama's default; capped at the trained length."""
        window = self.loaded or self.modelfile or configured or DEFAULT_WINDOW
        return min(window, self.trained) if self.trained else window


def native_root(base_url: str) -> str:
    """http://host:11434/v1 → http://host:11434 (where /api/show lives)."""
    parts = urlsplit(base_url)
    path = re.sub(r"/v1/?$", "", parts.path.rstrip("/"))
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _sane(value: Any) -> int | None:
    return value if isinstance(value, int) and value in SANE_WINDOW else None


def _same_model(entry: dict[str, Any], model: str) -> bool:
    names = {entry.get("name"), entry.get("model")}
    return model in names or (":" not in model and f"{model}:latest" in names)


async def probe(base_url: str, model: str, *, loaded_only: bool = False,
                timeout_s: float = 5.0) -> OllamaModel | None:
    """What the server says of `model`, or None when it is not Ollama; ConnectionError when
    it cannot be reached (it may be Ollama, not started yet). With `loaded_only`, only
    /api/ps is asked (the server is known to be Ollama)."""
    import httpx2
    root = native_root(base_url)
    host = urlsplit(root).hostname  # for the log: a URL may carry credentials
    found = OllamaModel()
    async with httpx2.AsyncClient(timeout=timeout_s) as client:
        if not loaded_only:
            try:  # "name" for Ollama before 0.5, "model" since
                shown = await client.post(f"{root}/api/show", json={"model": model, "name": model})
                body = shown.json() if shown.status_code == 200 else None
            except httpx2.TransportError as e:
                raise ConnectionError(f"{host}: {type(e).__name__}") from e
            except (httpx2.HTTPError, ValueError) as e:
                log.debug("ollama probe of %s: %s", host, type(e).__name__)
                return None
            if not isinstance(body, dict) or not isinstance(body.get("model_info"), dict):
                return None
            found.trained = next((_sane(v) for k, v in body["model_info"].items()
                                  if k.endswith(".context_length") and _sane(v)), None)
            parameters = body.get("parameters")
            if isinstance(parameters, str) and (m := _NUM_CTX.search(parameters)):
                found.modelfile = _sane(int(m.group(1)))
        try:
            ps = await client.get(f"{root}/api/ps")
            models = ps.json().get("models") if ps.status_code == 200 else None
        except (httpx2.HTTPError, ValueError, AttributeError) as e:
            log.debug("ollama /api/ps of %s: %s", host, type(e).__name__)
            models = None
        for entry in models if isinstance(models, list) else []:
            if isinstance(entry, dict) and _same_model(entry, model):
                found.loaded = _sane(entry.get("context_length"))
    return found
