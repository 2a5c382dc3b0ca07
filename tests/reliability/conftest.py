import pytest

from tests.fakes.anthropic_server import FakeAnthropicServer, message, text_block


def echo(body: dict) -> dict:
    return message(text_block(f"answer to: {body['messages'][-1]['content']}"))


@pytest.fixture
def counting_model():
    """A fake Messages API that counts every request it sees."""
    with FakeAnthropicServer(echo) as server:
        yield server
