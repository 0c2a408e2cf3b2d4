"""The run's usage as people read it (`baton runs`, the run's end): a model with no price
is "cost unknown", never $0."""

from __future__ import annotations

from baton.providers.base import Message, Usage
from baton.runtime.recorder import usage_line
from baton.runtime.runs import EVENT, AgentMessage, Run


def run_with(*usages: Usage) -> Run:
    run = Run(id="r1")
    for u in usages:  # through JSON, as the journal stores them
        event = AgentMessage(agent="planner", message=Message(role="assistant", text="x"), usage=u)
        run.apply(EVENT.validate_json(event.model_dump_json(exclude_none=True)))
    return run


def test_usage_line_says_cost_unknown_instead_of_zero():
    priced = Usage(input_tokens=900, output_tokens=100, cost_usd=0.0123)
    unpriced = Usage(input_tokens=400, output_tokens=100, unpriced_tokens=500)
    assert usage_line(run_with(priced)) == "1000 tokens, $0.0123"
    assert usage_line(run_with(unpriced)) == "500 tokens, cost unknown for 500 tokens"
    assert usage_line(run_with(priced, unpriced)) == \
        "1500 tokens, $0.0123 + cost unknown for 500 tokens"
    assert usage_line(run_with(Usage(input_tokens=5))) == "5 tokens"  # free: a local model
