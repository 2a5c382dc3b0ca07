"""The tools agents can be given, by name: what admins choose from.

Handlers are thin: they read the run's ticket from the network state and call selectors and
services. `ask_developer` is durable: it opens a question and its wait in one transaction.
"""

import uuid
from datetime import datetime
from typing import Annotated

from django.conf import settings
from django.utils import timezone
from pydantic import BaseModel, Field

from agents import ToolContext, tool
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


@tool(durable=True)
def ask_developer(
    question: Annotated[str, Field(description="The technical question for the developer")],
    ctx,
    context: Annotated[str, Field(description="Additional context about the issue")] = "",
) -> dict:
    """Ask a developer for input on a technical issue, and wait for the answer."""
    step, ticket = ctx.step, _ticket(ctx)
    # The id is a step, so a replay asks about the same question.
    question_id = step.run("ask_developer.question-id", lambda: str(uuid.uuid4()))
    timeout = parse_duration(settings.QUESTION_TIMEOUT)
    grace = parse_duration(settings.QUESTION_ANSWER_GRACE)
    opened = step.run("ask_developer.opened-at", lambda: timezone.now().isoformat())

    def open_question() -> None:
        services.question_open(
            question_id=question_id,
            ticket_id=ticket.ticket_id,
            run_id=ticket.run_id,
            agent=ctx.agent.name,
            question=question,
            context=context,
            expires_at=datetime.fromisoformat(opened) + timeout,
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


TOOLS = {
    tool.name: tool
    for tool in (
        search_knowledge_base,
        search_latest_release_notes,
        reply_to_customer,
        ask_developer,
    )
}
