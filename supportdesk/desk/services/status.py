"""The one writer of a ticket's status and its reason (README: "Ticket states")."""

from django.utils import timezone

from supportdesk.desk import observers
from supportdesk.desk.models import Ticket, TicketStatus
from supportdesk.durable.values import storable_text

REASON_LIMIT = 2000


def lock_tickets(*ticket_ids: int) -> None:
    """Lock the tickets' rows for the rest of the transaction. The desk's lock order: a run (the
    engine's), then its tickets, then their questions — so an answer, a close and a cancel
    arriving together never deadlock."""
    list(Ticket.objects.select_for_update().filter(pk__in=ticket_ids).order_by("pk")
         .values_list("pk", flat=True))  # fmt: skip


def ticket_set_status(
    ticket_id: int, status: str, reason: str = "", *, when: tuple[str, ...] | None = None
) -> bool:
    """Move the ticket to `status` with `reason`, only from one of the `when` statuses (default:
    any but closed — a closed ticket stays closed until someone reopens it). Returns whether it
    moved; tells the inbox after commit."""
    tickets = Ticket.objects.filter(pk=ticket_id)
    tickets = (tickets.filter(status__in=when) if when is not None
               else tickets.exclude(status=TicketStatus.CLOSED))  # fmt: skip
    moved = tickets.update(
        status=status, status_reason=storable_text(reason)[:REASON_LIMIT], updated_at=timezone.now()
    )
    if moved:
        observers.announce(observers.TICKET_CHANGED, ticket_id)
        if status == TicketStatus.NEEDS_ATTENTION:
            observers.announce(observers.TICKET_NEEDS_ATTENTION, ticket_id)
    return bool(moved)
