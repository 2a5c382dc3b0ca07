"""The tools agents can be given, by name: what admins choose from.

Handlers are thin: they read the run's ticket from the network state and call selectors and
services. `ask_developer` is durable: it opens a question and its wait in one transaction.
"""

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Literal

from django.conf import settings
from pydantic import BaseModel, Field, create_model

from agents import Tool, ToolContext, tool
from agents.step import parse_duration
from supportdesk.desk import observers, selectors, services


class TicketState(BaseModel):
    """What the tools need to know about the run they serve."""

    ticket_id: int
    run_id: str
    organization_id: int
    priority: str = "medium"  # decides which tool calls need a reviewer's approval


def _ticket(ctx: ToolContext) -> TicketState:
    return ctx.network.state.data


@tool
def search_knowledge_base(
    query: Annotated[str, Field(description="What to look for")], ctx
) -> dict:
    """Search the knowledge base for articles that answer the customer's question."""
    found = selectors.articles_search(organization_id=_ticket(ctx).organization_id, query=query)
    return {"articles": [{"title": a.title, "body": a.body} for a in found]}


@tool
def search_latest_release_notes(
    ctx, query: Annotated[str, Field(description="Keywords of the problem")] = ""
) -> dict:
    """Read the latest release notes, most relevant first."""
    notes = selectors.release_notes_latest(
        organization_id=_ticket(ctx).organization_id, query=query
    )
    return {
        "release_notes": [
            {"version": n.version, "released_on": n.released_on.isoformat(), "notes": n.notes}
            for n in notes
        ]
    }


@tool
def reply_to_customer(
    message: Annotated[str, Field(description="The reply, as the customer reads it")], ctx
) -> dict:
    """Send a reply to the customer who opened the ticket."""
    ticket = _ticket(ctx)
    reply = services.ticket_reply(
        ticket_id=ticket.ticket_id, run_id=ticket.run_id, agent=ctx.agent.name, body=message
    )
    return {"sent": True, "reply_id": reply.pk}


class AskDeveloper(BaseModel):
    question: str = Field(description="The technical question for the developer")
    context: str = Field("", description="Additional context about the issue")


def _ask_developer(params: AskDeveloper, ctx) -> dict:
    """Ask a developer for input on a technical issue, and wait for the answer."""
    step, ticket = ctx.step, _ticket(ctx)
    # The id is a step, so a replay asks about the same question.
    question_id = step.run("ask_developer.question-id", lambda: str(uuid.uuid4()))
    grace = parse_duration(settings.QUESTION_ANSWER_GRACE)
    opened = step.run(
        "ask_developer.opened-at", services.request_terms, organization_id=ticket.organization_id,
        priority=ticket.priority,
    )  # fmt: skip
    if isinstance(opened, str):  # a run started before deadlines by priority: one timeout
        opened = {"at": opened, "deadline_seconds": parse_duration(
            settings.QUESTION_TIMEOUT or "4h").total_seconds(), "holding_reply": False}  # fmt: skip
    timeout = timedelta(seconds=opened["deadline_seconds"])
    # Grouped with similar questions (an incident) once: a replay never regroups.
    grouping = step.run(
        "ask_developer.grouping", services.question_grouping,
        organization_id=ticket.organization_id, ticket_id=ticket.ticket_id,
        question=params.question,
    )  # fmt: skip
    if grouping["offer"] == "auto":
        # The organization answers with the group's recent answer: nobody is asked.
        step.run(
            "ask_developer.answered-automatically", _answered_automatically,
            question_id=question_id, ticket_id=ticket.ticket_id, run_id=ticket.run_id,
            agent=ctx.agent.name, question=params.question, context=params.context,
            group_id=grouping["group_id"], answer=grouping["answer"],
        )  # fmt: skip
        return {
            "developerResponse": grouping["answer"],
            "answeredAutomatically": f"with the answer to the incident “{grouping['group_title']}”",
        }
    if opened["holding_reply"]:
        step.run(
            "ask_developer.holding-reply", services.ticket_holding_reply,
            ticket_id=ticket.ticket_id, run_id=ticket.run_id, agent=ctx.agent.name,
        )  # fmt: skip

    def open_question() -> None:
        services.question_open(
            question_id=question_id,
            ticket_id=ticket.ticket_id,
            run_id=ticket.run_id,
            agent=ctx.agent.name,
            question=params.question,
            context=params.context,
            expires_at=datetime.fromisoformat(opened["at"]) + timeout,
            team=getattr(params, "team", None) or "",
            group_id=grouping["group_id"],
        )

    response = step.wait_for_event(
        "developer.response",
        event=services.DEVELOPER_RESPONSE,
        timeout=timeout + grace,
        # Matched on the ticket this run loaded (an integer), not on whatever the trigger
        # carried: an answer can only ever name the question's own ticket.
        if_exp=f"async.data.questionId == '{question_id}' "
        f"&& async.data.ticketId == {int(ticket.ticket_id)}",
        on_register=open_question,
    )
    if response is None:
        step.run("ask_developer.expired", services.question_expire, question_id=question_id)
        return {"error": "No developer response provided"}
    # The answer may have come from another process (the CLI, say); in the embedded mode only
    # this process reaches the open inboxes, so it tells them too. A repeated push is harmless.
    step.run("ask_developer.announced", observers.tell, observers.QUESTION_CHANGED, question_id)
    return {
        "developerResponse": response["data"]["answer"],
        "responseTime": response["data"]["timestamp"],
    }


def _answered_automatically(**question) -> str:
    return str(services.question_answered_automatically(**question).pk)


ask_developer = Tool(_ask_developer, name="ask_developer", parameters=AskDeveloper, durable=True)


def ask_developer_of(team_names: list[str]) -> Tool:
    """`ask_developer` as an organization's agents see it: its optional `team` argument offers
    exactly the organization's teams (an enum in the tool's schema)."""
    if not team_names:
        return ask_developer
    parameters = create_model(
        "ask_developer_parameters",
        __base__=AskDeveloper,
        team=(Literal[tuple(team_names)] | None,
              Field(None, description="The team to ask, when you know which one should answer")),
    )  # fmt: skip
    return Tool(_ask_developer, name="ask_developer", parameters=parameters, durable=True)


TOOLS = {
    tool.name: tool
    for tool in (
        search_knowledge_base,
        search_latest_release_notes,
        reply_to_customer,
        ask_developer,
    )
}
