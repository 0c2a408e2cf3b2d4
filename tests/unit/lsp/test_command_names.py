from baton.lsp import commands
from baton.lsp.command_names import COMMANDS


def test_the_advertised_names_are_exactly_the_registered_commands():
    async def get_engine():
        raise AssertionError("not called")

    registered = list(commands.handlers(get_engine))
    assert sorted(registered) == sorted(COMMANDS)
    assert len(set(COMMANDS)) == len(COMMANDS)
