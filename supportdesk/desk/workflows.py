"""The support workflow: a ticket worked by the support network, durably."""

from agents import State
from supportdesk import durable
from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.network import build_network, network_snapshot
from supportdesk.desk.tools import TicketState


def load_ticket(ticket_id, tenant: str) -> dict:
    try:
        ticket = selectors.ticket_get(ticket_id)
        if services.organization_tenant(ticket.organization_id) != tenant:
            raise DeskError(f"no ticket with id {ticket_id} for this organization")
    except DeskError as exc:
        raise durable.NonRetriableError(f"Ticket not found: {exc.message}") from None
    services.ticket_start_work(ticket_id=ticket.pk)
    return {
        "id": ticket.pk,
        "organization_id": ticket.organization_id,
        "title": ticket.title,
        "body": ticket.body,
        "priority": ticket.priority,
        "customer": ticket.customer,
    }


def ticket_prompt(ticket: dict) -> str:
    customer = f" from {ticket['customer']}" if ticket["customer"] else ""
    return (
        f"Ticket #{ticket['id']} ({ticket['priority']} priority){customer}: {ticket['title']}\n\n"
        f"{ticket['body']}".strip()
    )


@durable.function(
    id="support-agent-workflow",
    trigger=services.TICKET_CREATED,
    retries=4,
    cancel_on=[{"event": services.TICKET_CLOSED, "match": "data.ticketId"}],
    on_cancel=services.questions_cancel_for_run,
)
def support_agent_workflow(ctx):
    ticket = ctx.step.run(
        "get_ticket_details", load_ticket, ctx.event["data"].get("ticketId"), ctx.tenant
    )
    snapshot = ctx.step.run("configuration", network_snapshot, ticket["organization_id"])
    state = State[TicketState](
        data=TicketState(
            ticket_id=ticket["id"], run_id=ctx.run_id, organization_id=ticket["organization_id"]
        )
    )
    network = build_network(snapshot, state=state)
    outcome = network.run(ticket_prompt(ticket), step=ctx.step, state=state)
    ctx.step.run(
        "store_result",
        lambda: services.ticket_store_result(ticket_id=ticket["id"], resolution=outcome.output).pk,
    )
    return {
        "response": outcome.output,
        "ticket": ticket,
        "agents": [result.agent_name for result in outcome.results],
        "stopped": outcome.stopped,
    }
