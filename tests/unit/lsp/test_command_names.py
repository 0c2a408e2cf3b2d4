from baton.lsp import commands
from baton.lsp.command_names import COMMANDS


def test_the_advertised_names_are_exactly_the_registered_commands():
    registered: list[str] = []

    class Collect:
        def command(self, name):
            registered.append(name)
            return lambda fn: fn

    async def get_engine():
        raise AssertionError("not called")

    commands.register(Collect(), get_engine)
    assert sorted(registered) == sorted(COMMANDS)
    assert len(set(COMMANDS)) == len(COMMANDS)
