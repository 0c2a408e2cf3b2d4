"""The agent loop: output tools, error results, resume without repeating, bounds, steering."""

from __future__ import annotations

from typing import Any

import pytest

from baton.agents.compaction import apply_edits, request_chars
from baton.agents.loop import run_agent
from baton.agents.roles import ANSWERER, IMPLEMENTER
from baton.errors import ContextTooLong, ProviderRefused, RunFailed, ToolRefused
from baton.providers.base import (Capabilities, Fallback, Message, StopReason, ToolCall,
                                  ToolResult, Turn, TurnRequest, Usage)
from baton.tools.builtin import BUILTIN


class FakeProvider:
    name = "fake"

    def __init__(self, turns: list[Turn], window: int = 200_000) -> None:
        self.turns = turns
        self.requests: list[TurnRequest] = []
        self.capabilities = Capabilities(context_window=window, max_output_tokens=min(8192, window // 4))
        self.counts = 0

    async def complete(self, request, on_delta=None):
        self.requests.append(request)
        turn = self.turns[len(self.requests) - 1]
        if isinstance(turn, Exception):
            raise turn
        # Usage as a provider reports it: the prompt's tokens (~3.5 characters each here).
        return turn.model_copy(update={"usage": Usage(input_tokens=int(request_chars(request) / 3.5))})

    async def count_tokens(self, request):
        self.counts += 1
        return None


class Session:
    run_id = "r"
    task = "t"
    on_delta = None

    def __init__(self, conv: list[Message] | None = None) -> None:
        self.conv = conv or [Message(role="user", text="do it")]
        self.executed: list[ToolCall] = []
        self.steers: list[str] = []
        self.compactions: list = []
        self.results: dict[str, str] = {}  # path → what read_file returns
        self.usage = Usage()  # what record and paid counted
        self.paid_for: list[str] = []  # why, for each paid turn not kept
        self.fallbacks: list[Fallback] = []

    def conversation(self):
        return self.conv

    def record(self, message, *, usage=None, provider="", steers_consumed=0):
        self.conv.append(message)
        self.steers = self.steers[steers_consumed:]
        self.usage = self.usage + (usage or Usage())

    def paid(self, usage, provider, why):
        self.usage = self.usage + usage
        self.paid_for.append(why)

    async def failed_over(self, fallback):
        self.fallbacks.append(fallback)

    async def record_result(self, result: ToolResult):
        if self.conv[-1].role == "tool":
            self.conv[-1].tool_results.append(result)
        else:
            self.conv.append(Message(role="tool", tool_results=[result]))

    def compacted(self, edits, tokens):
        self.compactions.append(edits)
        self.conv = apply_edits(self.conv, edits)

    def pending_steers(self):
        return list(self.steers)

    async def execute(self, tool, call: ToolCall, args) -> str:
        self.executed.append(call)
        if call.arguments.get("path") == "bad":
            raise ToolRefused("refused for the test")
        return self.results.get(call.arguments.get("path", ""), f"ran {call.name}")


def calls(*specs: tuple[str, dict[str, Any]]) -> Turn:
    return Turn(tool_calls=[ToolCall(id=f"c{i}-{n}", name=n, arguments=a) for i, (n, a) in enumerate(specs)],
                stop=StopReason.TOOL_USE, usage=Usage(input_tokens=1))


async def test_runs_tools_then_returns_the_output_call():
    p = FakeProvider([calls(("read_file", {"path": "a"})),
                      calls(("read_file", {"path": "b"}), ("finish", {"summary": "ok"}))])
    s = Session()
    out = await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    assert out.call.name == "finish" and [c.arguments["path"] for c in s.executed] == ["a", "b"]
    # Every call of the last turn was answered, the output call last.
    assert [r.name for r in s.conv[-1].tool_results] == ["read_file", "finish"]


async def test_refusals_and_bad_arguments_become_error_results():
    p = FakeProvider([calls(("read_file", {"path": "bad"}), ("write_file", {"path": "x"}),
                            ("submit_plan", {}), ("finish", {})),
                      calls(("finish", {"summary": "ok"}))])
    s = Session()
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    results = s.conv[2].tool_results
    assert all(r.is_error for r in results)
    assert "refused for the test" in results[0].content
    assert "content" in results[1].content  # the missing argument is named
    assert "cannot call submit_plan" in results[2].content
    assert "invalid arguments" in results[3].content


async def test_truncated_call_is_never_executed():
    bad = Turn(tool_calls=[ToolCall(id="c", name="write_file", arguments={}, invalid="cut off at max tokens")],
               stop=StopReason.MAX_TOKENS)
    p = FakeProvider([bad, calls(("finish", {"summary": "ok"}))])
    s = Session()
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    assert s.executed == []
    assert "could not be read" in s.conv[2].tool_results[0].content


async def test_resume_executes_only_unanswered_calls():
    turn = Message(role="assistant", tool_calls=[ToolCall(id="a", name="read_file", arguments={"path": "1"}),
                                                 ToolCall(id="b", name="read_file", arguments={"path": "2"})])
    done = Message(role="tool", tool_results=[ToolResult(call_id="a", name="read_file", content="x")])
    s = Session([Message(role="user", text="t"), turn, done])
    p = FakeProvider([calls(("finish", {"summary": "ok"}))])
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    assert [c.id for c in s.executed] == ["b"]


async def test_resumed_after_its_output_call_the_role_is_done():
    # A run stopped after the implementer's finish was received (during its delivery):
    # resuming the role asks the model nothing more.
    s = Session()
    await run_agent(IMPLEMENTER, FakeProvider([calls(("finish", {"summary": "ok"}))]), s, BUILTIN, max_turns=5)
    again = FakeProvider([])
    out = await run_agent(IMPLEMENTER, again, s, BUILTIN, max_turns=5)
    assert out.call.name == "finish" and again.requests == []
    # A finish that was refused (bad arguments) is not an end: the model is asked again.
    s = Session()
    await run_agent(IMPLEMENTER, FakeProvider([calls(("finish", {})), calls(("finish", {"summary": "ok"}))]),
                    s, BUILTIN, max_turns=5)
    s.conv = s.conv[:3]  # as if the run stopped after the refused finish
    retry = FakeProvider([calls(("finish", {"summary": "ok"}))])
    await run_agent(IMPLEMENTER, retry, s, BUILTIN, max_turns=5)
    assert len(retry.requests) == 1


async def test_turn_bound_fails_the_run():
    p = FakeProvider([Turn(text="thinking…")] * 10)
    with pytest.raises(RunFailed, match="limit of 3 turns"):
        await run_agent(IMPLEMENTER, p, Session(), BUILTIN, max_turns=3)


async def test_repeating_the_same_failing_call_stops_the_role():
    p = FakeProvider([calls(("read_file", {"path": "bad"}))] * 10)
    with pytest.raises(RunFailed, match="repeated the same failing call"):
        await run_agent(IMPLEMENTER, p, Session(), BUILTIN, max_turns=10)


async def test_steer_note_goes_before_the_next_model_turn():
    p = FakeProvider([calls(("read_file", {"path": "a"})), calls(("finish", {"summary": "ok"}))])
    s = Session()
    s.steers = ["Note from the person: use tabs"]
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    first = p.requests[0].messages
    assert first[-1].role == "user" and "use tabs" in first[-1].text
    assert s.steers == []


async def test_refusal_stop_fails_clearly():
    p = FakeProvider([Turn(text="no", stop=StopReason.REFUSAL)])
    with pytest.raises(RunFailed, match="refused"):
        await run_agent(IMPLEMENTER, p, Session(), BUILTIN, max_turns=5)


# --- context management and bounded results -------------------------------------------

LARGE = "x = 1  # a line of a large file\n" * 400  # 12,800 characters


def reads(n: int) -> list[Turn]:
    return [calls(("read_file", {"path": f"big{i}.py"})) for i in range(n)]


async def test_a_conversation_outgrowing_the_window_is_compacted_and_the_role_finishes():
    p = FakeProvider(reads(12) + [calls(("finish", {"summary": "ok"}))], window=16_000)
    s = Session()
    s.results = {f"big{i}.py": LARGE for i in range(12)}
    out = await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=20)
    assert out.call.name == "finish" and s.compactions
    budget = 16_000 - 4_000
    for r in p.requests:  # every request the model saw fitted its window (estimated)
        chars = sum(len(m.text) + sum(len(x.content) for x in m.tool_results) for m in r.messages)
        assert chars / 3 <= budget
    # What the model saw last: the task whole, older reads compacted, the last one whole.
    last = p.requests[-1].messages
    newest = last[-1].tool_results[0].content
    assert last[0].text == "do it" and newest.startswith(LARGE[:6000]) and "not shown" in newest
    assert last[2].tool_results[0].content.startswith("[Compacted to save context")
    # The counting endpoint is asked only on turns near the compaction point (3 of 13 here).
    assert 0 < p.counts < len(p.requests) / 3


async def test_every_result_is_bounded_before_it_is_journaled():
    p = FakeProvider([calls(("read_file", {"path": "huge.py"})), calls(("finish", {"summary": "ok"}))],
                     window=20_000)
    s = Session()
    s.results = {"huge.py": "".join(f"{i:6}\tline {i}\n" for i in range(1, 5_000))}
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    shown = s.conv[2].tool_results[0].content
    # A tenth of a 20,000-token window: 8,000 characters, and where to read on.
    assert len(shown) < 8_300 and "not shown: read on with start_line=" in shown


@pytest.mark.parametrize("too_long", [
    ContextTooLong("prompt is too long: 250000 tokens > 200000 maximum"),
    Turn(text="cut", stop=StopReason.CONTEXT_EXCEEDED)])
async def test_the_provider_saying_too_long_compacts_harder_and_retries(too_long):
    p = FakeProvider(reads(4) + [too_long, calls(("finish", {"summary": "ok"}))])
    s = Session()
    s.results = {f"big{i}.py": LARGE for i in range(4)}
    out = await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=10)
    assert out.call.name == "finish" and len(s.compactions) == 1
    assert not any(m.text == "cut" for m in s.conv)  # the turn cut at the window is not kept
    retried = p.requests[-1].messages
    assert len(retried) == len(p.requests[-2].messages)  # the same turns, compacted
    assert retried[2].tool_results[0].content.startswith("[Compacted")
    assert retried[-1].tool_results[0].content == LARGE  # the newest result whole


async def test_a_conversation_that_cannot_fit_fails_saying_why():
    p = FakeProvider(reads(3) + [ContextTooLong("prompt is too long")] * 5)
    s = Session()
    s.results = {f"big{i}.py": LARGE for i in range(3)}
    with pytest.raises(RunFailed, match="does not fit the model's context window"):
        await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=10)
    assert len(p.requests) <= 3 + 1 + 2  # the reads, then at most two retries


async def test_the_results_of_one_turn_share_the_window():
    ten = Turn(tool_calls=[ToolCall(id=f"r{i}", name="read_file", arguments={"path": f"big{i}.py"})
                           for i in range(10)], stop=StopReason.TOOL_USE)
    p = FakeProvider([ten, calls(("finish", {"summary": "ok"}))], window=100_000)
    s = Session()
    s.results = {f"big{i}.py": LARGE * 4 for i in range(10)}  # 51,200 characters each
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=5)
    shown = [r.content for r in s.conv[2].tool_results]
    # 3/10 of a 100,000-token window (~120,000 characters) over ten results: ~12,000 each.
    assert len(shown) == 10 and all(11_000 < len(c) < 12_300 for c in shown)



# --- tokens paid for turns not kept; providers passed over ----------------------------

BILLED = Usage(input_tokens=900, output_tokens=40, cost_usd=0.01)


class Billed(FakeProvider):
    """Reports the usage each turn or error carries, as the adapters do."""

    async def complete(self, request, on_delta=None):
        self.requests.append(request)
        turn = self.turns[len(self.requests) - 1]
        if isinstance(turn, Exception):
            raise turn
        return turn


@pytest.mark.parametrize("lost", [
    # Anthropic's stop reason model_context_window_exceeded, as the adapter raises it
    ContextTooLong("the conversation filled the window", provider="fake", usage=BILLED),
    Turn(text="cut", stop=StopReason.CONTEXT_EXCEEDED, usage=BILLED, provider="fake")])
async def test_a_turn_cut_off_at_the_window_is_counted_though_not_kept(lost):
    p = Billed(reads(4) + [lost, calls(("finish", {"summary": "ok"}))])
    s = Session()
    s.results = {f"big{i}.py": LARGE for i in range(4)}
    await run_agent(IMPLEMENTER, p, s, BUILTIN, max_turns=10)
    assert len(s.compactions) == 1
    assert not any(m.text == "cut" for m in s.conv)
    # The five turns kept reported 1 input token each (calls()).
    assert s.usage == BILLED + Usage(input_tokens=5) and len(s.paid_for) == 1


async def test_a_refused_turn_is_counted_and_the_refusal_goes_up():
    refused = ProviderRefused("claude declined the request", provider="claude", usage=BILLED)
    s = Session()
    with pytest.raises(ProviderRefused, match="declined"):
        await run_agent(IMPLEMENTER, Billed([refused]), s, BUILTIN, max_turns=5)
    assert s.usage == BILLED and s.paid_for == ["claude declined the request"]


async def test_an_error_without_usage_records_nothing():
    s = Session()
    with pytest.raises(ProviderRefused):
        await run_agent(IMPLEMENTER, Billed([ProviderRefused("no")]), s, BUILTIN, max_turns=5)
    assert s.paid_for == [] and s.usage == Usage()


async def test_providers_passed_over_are_said_once_the_turn_is_recorded():
    fallback = Fallback(provider="claude", message="Provider claude could not be used: ...")
    p = Billed([Turn(text="done", provider="gpt", fallbacks=[fallback])])
    s = Session()
    out = await run_agent(ANSWERER, p, s, BUILTIN, max_turns=5)
    assert out.text == "done" and s.fallbacks == [fallback]
