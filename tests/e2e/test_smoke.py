from .conftest import HELLO, plan_script


async def test_plan_route_smoke(make_editor):
    ed = await make_editor(plan_script())
    ed.open("hello.py")
    run_id = await ed.run("Greet by name")
    await ed.wait_state(run_id, "awaiting_approval")
    await ed.command("baton.plan.accept", {"runId": run_id})
    await ed.wait_state(run_id, "done")
    assert ed.text("hello.py") == HELLO.replace("def hello():", "def hello(name):")
