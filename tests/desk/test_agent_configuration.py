"""Agents and the network, configured in Django admin: validated there, snapshotted by runs."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from supportdesk.desk import services
from supportdesk.desk.demo_model import demo_blocks
from supportdesk.desk.models import AgentConfig, NetworkConfig, Question
from tests.fakes.anthropic_server import FakeAnthropicServer, message

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_client(organization):
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def agent_form(agent: AgentConfig, **changes) -> dict:
    data = {
        "organization": agent.organization_id, "name": agent.name,
        "description": agent.description, "system_prompt": agent.system_prompt,
        "model": agent.model, "max_tokens": agent.max_tokens, "temperature": "",
        "tools": agent.tools, "enabled": "on", "position": agent.position,
    }  # fmt: skip
    data.update(changes)
    return data


def technical_support(organization) -> AgentConfig:
    return AgentConfig.objects.get(organization=organization, name="Technical Support")


def test_seeded_defaults_reproduce_the_support_network(organization):
    network = NetworkConfig.objects.get(organization=organization)
    assert network.router == "supervisor"
    assert {a.name: a.tools for a in network.agents.all()} == {
        "Customer Support": ["search_knowledge_base", "reply_to_customer"],
        "Technical Support": ["search_latest_release_notes", "reply_to_customer", "ask_developer"],
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"system_prompt": "   "}, "This field is required"),
        ({"tools": ["reply_to_customer", "rm_rf"]}, "Select a valid choice. rm_rf is not one"),
        ({"temperature": "3"}, "Temperature must be between 0 and 1."),
        ({"max_tokens": "0"}, "Max tokens must be between 1 and 64,000."),
        ({"max_tokens": "64001"}, "Max tokens must be between 1 and 64,000."),
    ],
)
def test_invalid_agent_configuration_is_refused_with_a_message(
    admin_client, organization, changes, message
):
    agent = technical_support(organization)
    response = admin_client.post(f"/admin/desk/agentconfig/{agent.pk}/change/",
                                 agent_form(agent, **changes))  # fmt: skip
    assert response.status_code == 200  # the form again, with its errors
    assert message in response.content.decode()
    assert AgentConfig.objects.get(pk=agent.pk).system_prompt == agent.system_prompt


def test_an_unknown_tool_stored_by_other_means_is_refused_by_the_model(organization):
    from django.core.exceptions import ValidationError

    agent = technical_support(organization)
    agent.tools = ["ask_developer", "drop_database"]
    with pytest.raises(ValidationError, match="Unknown tool\\(s\\): drop_database"):
        agent.full_clean()


def test_a_network_without_agents_is_refused(admin_client, organization):
    network = NetworkConfig.objects.get(organization=organization)
    response = admin_client.post(f"/admin/desk/networkconfig/{network.pk}/change/", {
        "organization": organization.pk, "name": network.name, "router": "supervisor",
        "supervisor_instructions": "", "default_model": "claude-haiku-4-5",
        "max_iterations": 12,
    })  # fmt: skip
    assert "A network needs at least one agent." in response.content.decode()
    assert network.agents.count() == 2


def system_prompts_of(requests: list[dict], agent_tools: str) -> list[str]:
    """The system prompts of the requests made for the agent owning tool `agent_tools`."""
    return [
        body.get("system", "")
        for body in requests
        if agent_tools in {tool["name"] for tool in body.get("tools", [])}
    ]


def test_editing_a_prompt_changes_the_next_run_and_not_a_running_one(
    admin_client, organization, drain, settings, monkeypatch
):
    def claude(body: dict) -> dict:
        tools = [t["name"] for t in body.get("tools", [])]
        return message(*demo_blocks(messages=body["messages"], tools=tools, labelled=False))

    with FakeAnthropicServer(claude) as fake:
        settings.ANTHROPIC_API_KEY_SET = True
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.base_url)
        original = technical_support(organization).system_prompt

        running = services.ticket_create(organization=organization, title="Crash on login",
                                         priority="critical")  # fmt: skip
        drain()  # it waits on its question now
        agent = technical_support(organization)
        response = admin_client.post(
            f"/admin/desk/agentconfig/{agent.pk}/change/",
            agent_form(agent, system_prompt="You are TERSE technical support."),
        )
        assert response.status_code == 302

        seen = len(fake.requests)
        services.ticket_create(organization=organization, title="Crash on save",
                               priority="critical")  # fmt: skip
        drain()
        assert system_prompts_of(fake.requests[seen:], "ask_developer")[0] == (
            "You are TERSE technical support."
        )

        seen = len(fake.requests)
        question = Question.objects.get(ticket=running)
        services.question_answer(question=question, answered_by="ann", answer="fixed")
        drain()
        resumed = system_prompts_of(fake.requests[seen:], "ask_developer")
        assert resumed and set(resumed) == {original}
        assert json.dumps(fake.duplicate_requests()) == "[]"
