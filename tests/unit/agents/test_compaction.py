"""Compaction: older turns shrink first, the task and the last turn stay whole, pairing
holds, provider state goes where it can; the guard counts only near the limit."""

from __future__ import annotations

from baton.agents import compaction
from baton.agents.compaction import (ContextGuard, MessageEdit, apply_edits, compact,
                                     message_chars)
from baton.providers.base import Capabilities, Message, ToolCall, ToolResult, TurnRequest

BIG = "line of a large file\n" * 500  # 10,500 characters


def conversation(turns: int, *, state: bool = False) -> list[Message]:
    conv = [Message(role="user", text="TASK: the task, the plan, the briefing")]
    for i in range(turns):
        conv.append(Message(role="assistant", text=f"reading {i}", provider_state=(
            {"anthropic": {"thinking": [{"type": "thinking", "thinking": "t" * 2000,
                                         "signature": "s"}]}} if state else None),
            tool_calls=[ToolCall(id=f"c{i}", name="read_file", arguments={"path": f"f{i}.py"}),
                        ToolCall(id=f"w{i}", name="write_file",
                                 arguments={"path": f"g{i}.py", "content": "x" * 5000})]))
        conv.append(Message(role="tool", tool_results=[
            ToolResult(call_id=f"c{i}", name="read_file", content=BIG),
            ToolResult(call_id=f"w{i}", name="write_file", content="created")]))
    return conv


def size(conv: list[Message]) -> int:
    return sum(message_chars(m) for m in conv)


def test_edits_apply_to_a_copy_and_an_unknown_index_changes_nothing() -> None:
    conv = conversation(2, state=True)
    edits = [MessageEdit(index=2, results={"c0": "short"}),
             MessageEdit(index=1, arguments={"w0": {"path": "g0.py", "content": "[cut]"}},
                         drop_state=True, text="t"),
             MessageEdit(index=99, text="nothing")]
    out = apply_edits(conv, edits)
    assert out[2].tool_results[0].content == "short" and out[2].tool_results[1].content == "created"
    assert out[1].tool_calls[1].arguments["content"] == "[cut]" and out[1].provider_state is None
    assert out[1].text == "t" and len(out) == len(conv)
    assert conv[2].tool_results[0].content == BIG and conv[1].provider_state is not None


def test_compaction_takes_the_oldest_first_and_keeps_task_last_turn_and_pairing() -> None:
    conv = conversation(8, state=True)
    target = size(conv) // 2
    edits = compact(conv, fits=lambda c: size(c) <= target, keep_tools=frozenset({"finish"}))
    out = apply_edits(conv, edits)
    assert size(out) <= target
    assert out[0] == conv[0]  # the task and its briefing
    assert out[-2:] == conv[-2:]  # the last turn and its results, thinking included
    # Every call still has its result, ids unchanged.
    for call_msg, results in zip(out[1::2], out[2::2]):
        assert [c.id for c in call_msg.tool_calls] == [r.call_id for r in results.tool_results]
    first = out[2].tool_results[0].content
    assert first.startswith("[Compacted to save context: the result of read_file "
                            '{"path": "f0.py"} was 10,500 characters')
    assert "line of a large file" in first and len(first) < 700
    assert out[1].tool_calls[1].arguments["content"].startswith("[5,000 characters")
    assert out[1].provider_state is None
    # It stopped once the conversation fit: some older turns are still whole.
    assert any(m.tool_results and m.tool_results[0].content == BIG for m in out[3:-2])


def test_the_output_call_keeps_its_arguments() -> None:
    conv = conversation(3)
    conv[3].tool_calls.append(ToolCall(id="f", name="finish", arguments={"summary": "s" * 2000}))
    conv[4].tool_results.append(ToolResult(call_id="f", name="finish", content="Received."))
    out = apply_edits(conv, compact(conv, fits=lambda c: False, keep_tools=frozenset({"finish"})))
    assert out[3].tool_calls[-1].arguments["summary"] == "s" * 2000


def test_notes_from_the_person_are_cut_only_when_nothing_else_is_left() -> None:
    conv = conversation(4)
    conv.insert(3, Message(role="user", text="Note from the person: " + "n" * 3000))
    softer = apply_edits(conv, compact(conv, fits=lambda c: size(c) < size(conv) * 0.6))
    assert softer[3].text == conv[3].text
    hardest = apply_edits(conv, compact(conv, fits=lambda c: False))
    assert hardest[3].text.endswith(compaction.CUT_NOTE) and len(hardest[3].text) < 1100
    # Compacting what is compacted changes nothing more.
    again = compact(hardest, fits=lambda c: False)
    assert apply_edits(hardest, again) == hardest


class CountingProvider:
    name = "counting"

    def __init__(self, window: int, count: int | None) -> None:
        self.capabilities = Capabilities(context_window=window, max_output_tokens=window // 8)
        self.count, self.asked = count, 0

    async def complete(self, request, on_delta=None):  # pragma: no cover - not called
        raise AssertionError

    async def count_tokens(self, request):
        self.asked += 1
        return self.count


def request(conv: list[Message]) -> TurnRequest:
    return TurnRequest(run_id="r", role="implementer", system="sys", messages=conv, tools=[])


async def test_the_counting_endpoint_is_asked_only_near_the_limit() -> None:
    small = request(conversation(1))  # ~15.7k characters: ~5.2k tokens by the first estimate
    far = CountingProvider(window=1_000_000, count=5_000)
    assert await ContextGuard(far).fit(small) is None and far.asked == 0
    near = CountingProvider(window=8_000, count=5_000)
    guard = ContextGuard(near)
    # The estimate (~5.2k) is within its error of the compaction point (80% of the 7k
    # budget): the provider counts, says 5k: it fits, and the ratio is learnt.
    assert await guard.fit(small) is None and near.asked == 1
    assert guard.tokens_per_char is not None and guard.estimate(small) == 5_000


async def test_the_guard_compacts_to_its_target_and_learns_from_a_refusal() -> None:
    provider = CountingProvider(window=40_000, count=None)  # no counting endpoint: estimates
    guard = ContextGuard(provider)
    req = request(conversation(10))
    edits = await guard.fit(req)
    assert edits
    fitted = req.model_copy(update={"messages": apply_edits(req.messages, edits)})
    assert guard.estimate(fitted) <= compaction.TARGET * guard.budget()
    assert provider.asked == 0  # clearly over the compaction point: nothing to ask
    # The provider said it was too long after all: the ratio rises to what that proves, and
    # the next compaction aims lower.
    before = guard.estimate(fitted)
    guard.refused(fitted)
    refused = guard.estimate(fitted)
    assert refused > guard.window > before
    harder = await guard.fit(fitted, harder=1)
    assert harder
    again = fitted.model_copy(update={"messages": apply_edits(fitted.messages, harder)})
    # The lower target is out of reach (the last turn alone is over it): everything older
    # is compacted, the last turn stays whole, and the loop will say it cannot fit.
    assert guard.estimate(again) < refused * 0.6
    assert all(r.content.startswith("[Compacted") for m in again.messages[2:-2:2]
               for r in m.tool_results if r.name == "read_file")
    assert again.messages[-1] == req.messages[-1]
    assert guard.too_long(again) is None


def test_a_result_that_claims_to_be_compacted_is_compacted_all_the_same() -> None:
    conv = conversation(4)
    conv[2].tool_results[0] = ToolResult(call_id="c0", name="read_file",
                                         content="[Compacted to save context: not really]\n" + BIG)
    out = apply_edits(conv, compact(conv, fits=lambda c: False))
    assert len(out[2].tool_results[0].content) <= compaction.STUB_MAX
    stubs = [r.content for m in out[2:-2] for r in m.tool_results if r.name == "read_file"]
    assert all(len(s) <= compaction.STUB_MAX for s in stubs)
