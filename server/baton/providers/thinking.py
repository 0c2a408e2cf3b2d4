"""Reasoning that a server leaves in the answer text as `<think>…</think>`.

Servers without a reasoning parser (llama.cpp without `--reasoning-format`, vLLM without
`--reasoning-parser`, Ollama with older templates, LM Studio) pass Qwen3, QwQ, DeepSeek-R1
and GLM reasoning through as content. It is never answer text and never a source of tool
calls (models draft calls while thinking). `ThinkSplitter` separates it while streaming,
tags split across chunks included, so progress never shows it as the answer:

- `<think>` opens a block at the start of the text or of a line (not mid-sentence, where a
  model may be writing about the tag); `</think>` closes it;
- a block never closed (the output ran out while thinking) is all reasoning;
- a `</think>` with no opening tag (a chat template that put `<think>` in the prompt) makes
  everything before it reasoning.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of `text` that is the start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class ThinkSplitter:
    def __init__(self) -> None:
        self.answer: list[str] = []
        self.reasoning: list[str] = []  # one entry per block
        self._pending = ""  # held back: it may be the start of a tag
        self._thinking = False
        self._opened = False  # a <think> was seen
        self._line_start = True  # the answer so far ends a line (or is empty)

    def feed(self, chunk: str) -> str:
        """Takes a piece of content; returns what is answer text in it, for progress."""
        buf, shown = self._pending + chunk, []
        self._pending = ""
        while buf:
            if self._thinking:
                i = buf.find(CLOSE)
                if i < 0:
                    keep = _partial_suffix(buf, CLOSE)
                    self.reasoning[-1] += buf[:len(buf) - keep]
                    self._pending = buf[len(buf) - keep:]
                    break
                self.reasoning[-1] += buf[:i]
                buf = buf[i + len(CLOSE):]
                self._thinking = False
                continue
            opening = self._opening(buf)
            if opening is None:
                keep = _partial_suffix(buf, OPEN)
                shown.append(self._say(buf[:len(buf) - keep]))
                self._pending = buf[len(buf) - keep:]
                break
            shown.append(self._say(buf[:opening]))
            buf = buf[opening + len(OPEN):]
            self._thinking = self._opened = True
            self.reasoning.append("")
        return "".join(shown)

    def finish(self) -> tuple[str, str]:
        """(answer, reasoning) once the content is complete."""
        if self._thinking:
            self.reasoning[-1] += self._pending
        else:
            self.answer.append(self._pending)
        self._pending = ""
        answer = "".join(self.answer)
        if not self._opened and CLOSE in answer:
            before, _, answer = answer.partition(CLOSE)
            self.reasoning.insert(0, before)
        return answer.strip(), "\n\n".join(r.strip() for r in self.reasoning if r.strip())

    def _opening(self, buf: str) -> int | None:
        """Where a <think> that opens a block starts in `buf`, if one does."""
        start = 0
        while (i := buf.find(OPEN, start)) >= 0:
            before = buf[:i]
            line = before.rpartition("\n")[2]
            if not line.strip() and ("\n" in before or self._line_start):
                return i
            start = i + 1
        return None

    def _say(self, text: str) -> str:
        if text:
            self.answer.append(text)
            stripped = text.rstrip(" \t")
            self._line_start = stripped.endswith("\n") if stripped else self._line_start
        return text
