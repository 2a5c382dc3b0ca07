"""The support workflow: a ticket worked by the support network, durably."""

from datetime import datetime

from django.utils import timezone

from agents import RoutingError, State
from supportdesk import durable
from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import TicketStatus
from supportdesk.desk.network import build_network, network_snapshot
from supportdesk.desk.tools import TicketState


def load_ticket(ticket_id, tenant: str, run_id: str | None = None) -> dict:
    """The ticket this run works, claimed for it (at most one live run per ticket), with the
    conversation so far for a follow-up run."""
    try:
        ticket = selectors.ticket_get(ticket_id)
        if services.organization_tenant(ticket.organization_id) != tenant:
            raise DeskError(f"no ticket with id {ticket_id} for this organization")
    except DeskError as exc:
        raise durable.NonRetriableError(f"Ticket not found: {exc.message}") from None
    details = {
        "id": ticket.pk,
        "organization_id": ticket.organization_id,
        "title": ticket.title,
        "body": ticket.body,
        "priority": ticket.priority,
        "customer": ticket.customer,
    }
    if ticket.status == TicketStatus.CLOSED:
        return {**details, "skipped": f"ticket {ticket.pk} is closed"}
    if run_id is not None:
        conversation = services.ticket_run_begin(ticket_id=ticket.pk, run_id=run_id)
        if conversation is None:
            return {**details, "skipped": f"ticket {ticket.pk} already has a live run"}
        details["conversation"] = conversation
    return details


def ticket_prompt(ticket: dict) -> str:
    customer = f" from {ticket['customer']}" if ticket["customer"] else ""
    prompt = (
        f"Ticket #{ticket['id']} ({ticket['priority']} priority){customer}: {ticket['title']}\n\n"
        f"{ticket['body']}".strip()
    )
    if ticket.get("conversation"):
        prompt += f"\n\nThe conversation so far, oldest first:\n{ticket['conversation']}"
    return prompt


@durable.function(
    id="support-agent-workflow",
    trigger=services.TICKET_CREATED,
    retries=4,
    cancel_on=[{"event": services.TICKET_CLOSED, "match": "data.ticketId"}],
    on_cancel=services.ticket_run_cancelled,
    on_failure=services.ticket_run_failed,
)
def support_agent_workflow(ctx):
    ticket = ctx.step.run(
        "get_ticket_details", load_ticket, ctx.event["data"].get("ticketId"), ctx.tenant,
        ctx.run_id,
    )  # fmt: skip
    if ticket.get("skipped"):
        return {"skipped": ticket["skipped"], "ticket": ticket}
    snapshot = ctx.step.run("configuration", network_snapshot, ticket["organization_id"])
    state = State[TicketState](
        data=TicketState(
            ticket_id=ticket["id"], run_id=ctx.run_id, organization_id=ticket["organization_id"],
            priority=ticket["priority"],
        )
    )
    network = build_network(snapshot, state=state)
    try:
        outcome = network.run(ticket_prompt(ticket), step=ctx.step, state=state)
    except RoutingError as exc:  # a configuration problem: replaying won't change the decision
        raise durable.NonRetriableError(str(exc)) from None
    ctx.step.run(
        "store_result", services.ticket_run_completed, ticket_id=ticket["id"],
        run_id=ctx.run_id, resolution=outcome.output,
    )  # fmt: skip
    return {
        "response": outcome.output,
        "ticket": ticket,
        "agents": [result.agent_name for result in outcome.results],
        "stopped": outcome.stopped,
    }


@durable.function(id="request-reminders", trigger=services.REQUEST_OPENED, retries=2)
def request_reminders(ctx):
    """A human request's reminders and escalations, durably: the run sleeps until each nudge
    (holding no worker, surviving restarts) and ends once the request no longer waits."""
    question_id = ctx.event["data"]["questionId"]
    plan = ctx.step.run("plan", services.request_nudge_plan, question_id=question_id)
    for nudge in plan:
        # Only the first execution reads the clock: a replay finds the sleep stored.
        due = datetime.fromisoformat(nudge["at"]) - timezone.now()
        ctx.step.sleep(f"until.{nudge['action']}", max(due.total_seconds(), 0))
        done = ctx.step.run(f"nudge.{nudge['action']}", services.request_nudge,
                            question_id=question_id, action=nudge["action"])  # fmt: skip
        if not done:
            return {"ended": "the request no longer waits"}
    return {"ended": "every nudge sent"}
