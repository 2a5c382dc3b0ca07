"""Reviewer pages: thin views over desk selectors and services. Every page needs a reviewer."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError, InvalidFields, NotFound
from supportdesk.desk.models import Channel, Priority, TicketStatus
from supportdesk.durable.timeline import run_timeline
from supportdesk.inbox import argument_forms
from supportdesk.inbox.filters import InboxFilters


def reviewer_required(view):
    """Signed in (else to the login page) and a reviewer of an organization (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        request.reviewer = selectors.reviewer_for(request.user)
        if request.reviewer is None:
            return render(request, "inbox/not_a_reviewer.html", status=403)
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from None

    return wrapped


@require_GET
@reviewer_required
def inbox(request: HttpRequest) -> HttpResponse:
    filters = InboxFilters.from_params(request.GET)
    page = selectors.inbox_page(
        organization=request.reviewer.organization, filters=filters, user_id=request.user.pk,
        after=request.GET.get("after", ""),
    )
    return render(request, "inbox/inbox.html", {
        "questions": page.questions, "page": page, "filters": filters,
        "total_for_filter": page.total_for_filter, "total_pending": page.total_pending,
        "priorities": Priority.values, "tab": "pending",
    })  # fmt: skip


@require_GET
@reviewer_required
def history(request: HttpRequest) -> HttpResponse:
    q, search_error = _search(request)
    questions = selectors.questions_answered_or_expired(
        organization=request.reviewer.organization, q=q
    )
    page_obj = Paginator(questions, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inbox/history.html", {
        "questions": page_obj.object_list, "page_obj": page_obj, "tab": "history",
        "q": q, "search_error": search_error, "search_max": selectors.SEARCH_MAX_LENGTH,
    }, status=400 if search_error else 200)  # fmt: skip


LIST_PAGE_SIZE = 50


def _search(request: HttpRequest) -> tuple[str, str]:
    """The search asked for, and why it was refused (then no search)."""
    q = request.GET.get("q", "").strip()
    if len(q) > selectors.SEARCH_MAX_LENGTH:
        return "", f"That search is too long: at most {selectors.SEARCH_MAX_LENGTH} characters."
    return q.replace("\x00", ""), ""


@require_GET
@reviewer_required
def question_detail(request: HttpRequest, question_id) -> HttpResponse:
    question = selectors.question_get(question_id, organization=request.reviewer.organization)
    return _question_page(request, question)


def question_action(view):
    """A POST-only action of a question page: opened by GET (a reload, a shared link), it leads
    back to the page, never to a dead 405."""

    @wraps(view)
    def wrapped(request: HttpRequest, question_id) -> HttpResponse:
        if request.method in ("GET", "HEAD"):
            return redirect("inbox:question", question_id=question_id)
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        return view(request, question_id)

    return wrapped


def _question_page(request, question, *, error: str = "", answer: str = "",
                   status: int = 200, edit: dict | None = None) -> HttpResponse:  # fmt: skip
    edit = edit or {}
    fields = argument_forms.fields_for(question.tool_schema or {},
                                       edit.get("arguments", question.proposed_arguments or {}),
                                       edit.get("errors"))  # fmt: skip
    organization = question.ticket.organization
    assignable = {
        "reviewers": list(organization.reviewers.select_related("user")),
        "teams": list(organization.teams.all()),
    }
    return render(request, "inbox/question.html", {
        "question": question, "ticket": question.ticket, "timeline": run_timeline(question.run),
        "error": error, "now": timezone.now(), "fields": fields, "assignable": assignable,
        "decision": edit.get("decision", ""), "message": edit.get("message", ""),
        "answer_limit": services.MAX_TEXT,
        "suggestion": services.group_suggestion(question),
        "group": selectors.question_group_get(question.group_id) if question.group_id else None,
        # What the reviewer typed, back in the form; a NUL (refused: PostgreSQL can't store it)
        # shows as the replacement character, so they see where it was.
        "answer": answer.replace("\x00", "\ufffd"),
    }, status=status)  # fmt: skip


@question_action
@reviewer_required
def question_answer(request: HttpRequest, question_id) -> HttpResponse:
    question = selectors.question_get(question_id, organization=request.reviewer.organization)
    try:
        services.question_answer(
            question=question, answered_by=request.reviewer.display_name,
            answer=request.POST.get("answer", ""), user=request.user, channel=Channel.WEB,
        )  # fmt: skip
    except DeskError as exc:
        status = 409 if exc.code == "conflict" else 400
        return _question_page(request, question, error=exc.message,
                              answer=request.POST.get("answer", ""), status=status)  # fmt: skip
    messages.success(request, f"Answered. The run on ticket #{question.ticket_id} resumes.")
    return redirect("inbox:inbox")


@question_action
@reviewer_required
def question_decide(request: HttpRequest, question_id) -> HttpResponse:
    """A decision on a proposed tool call. A refused one keeps what the reviewer typed."""
    question = selectors.question_get(question_id, organization=request.reviewer.organization)
    decision = request.POST.get("decision", "")
    message = request.POST.get("message", "")
    arguments, errors = None, {}
    if decision == "edit":
        arguments, errors = argument_forms.arguments_from(question.tool_schema or {}, request.POST)
    kept = {"decision": decision, "message": message, "arguments": arguments or {},
            "errors": errors}  # fmt: skip
    try:
        if errors:
            raise DeskError("some arguments could not be read; see the fields below")
        services.approval_decide(
            approval=question, decision=decision, arguments=arguments, message=message,
            decided_by=request.reviewer.display_name, user=request.user, channel=Channel.WEB,
        )  # fmt: skip
    except InvalidFields as exc:
        kept["errors"] = {loc[-1]: msg for loc, msg in exc.problems}
        return _question_page(request, question, error="the arguments don't fit the tool",
                              status=400, edit=kept)  # fmt: skip
    except DeskError as exc:
        if request.htmx:
            messages.error(request, exc.message)
            return HttpResponseClientRefresh()
        status = 409 if exc.code == "conflict" else 400
        return _question_page(request, question, error=exc.message, status=status, edit=kept)
    messages.success(request, f"Decided: {question.get_decision_display()}. The run on ticket "
                     f"#{question.ticket_id} resumes.")  # fmt: skip
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect("inbox:inbox")


@question_action
@reviewer_required
def question_assign(request: HttpRequest, question_id) -> HttpResponse:
    """Give the request to a reviewer or a team of the organization; recorded as this
    reviewer's doing, and the new assignee or team is told."""
    organization = request.reviewer.organization
    question = selectors.question_get(question_id, organization=organization)
    kind, _, target_id = request.POST.get("to", "").partition(":")
    reviewer = organization.reviewers.filter(pk=target_id).first() if kind == "reviewer" else None
    team = organization.teams.filter(pk=target_id).first() if kind == "team" else None
    try:
        services.request_assign(question=question, actor=request.reviewer.display_name,
                                reviewer=reviewer, team=team, channel=Channel.WEB)  # fmt: skip
        messages.success(request, "Assigned.")
    except DeskError as exc:
        messages.error(request, exc.message)
    return redirect("inbox:question", question_id=question.pk)


@question_action
@reviewer_required
def question_claim(request: HttpRequest, question_id) -> HttpResponse:
    return _claim_or_release(request, question_id, services.question_claim)


@question_action
@reviewer_required
def question_release(request: HttpRequest, question_id) -> HttpResponse:
    return _claim_or_release(request, question_id, services.question_release)


def _claim_or_release(request, question_id, action) -> HttpResponse:
    question = selectors.question_get(question_id, organization=request.reviewer.organization)
    problem = ""
    try:
        action(question=question, user=request.user)
    except DeskError as exc:
        problem = exc.message
    if request.htmx and request.htmx.target == "question-state":
        # The question page's own claim button: only its state is redrawn, so that what the
        # reviewer is typing stays where it is.
        return render(request, "inbox/question.html#state",
                      {"question": question, "claim_problem": problem})  # fmt: skip
    if request.htmx and request.htmx.target == "inbox-notice":
        # A card's claim button (or its `c` key) in the inbox: a line in the page's status
        # region; the card itself changes with the push every inbox gets.
        done = "Claimed" if action is services.question_claim else "Released"
        notice = problem or f"{done} the request on ticket #{question.ticket_id}."
        return HttpResponse(escape(notice))
    if problem:
        messages.error(request, problem)
    if request.htmx:
        return HttpResponseClientRefresh()
    return redirect(_safe_next(request, default=f"/questions/{question.pk}/"))


def _safe_next(request, *, default: str) -> str:
    """Only a path on this site: an open redirect is a phishing tool."""
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@question_action
@reviewer_required
def question_ungroup(request: HttpRequest, question_id) -> HttpResponse:
    """Take the question out of its incident: it waits on its own, for its own answer."""
    question = selectors.question_get(question_id, organization=request.reviewer.organization)
    try:
        services.group_remove_question(question=question, actor=request.reviewer.display_name)
        messages.success(request, "Removed from the incident: this question now waits on its own.")
    except DeskError as exc:
        messages.error(request, exc.message)
    return redirect("inbox:question", question_id=question.pk)


@require_POST
@reviewer_required
def group_answer(request: HttpRequest, group_id: int) -> HttpResponse:
    """One answer for every waiting question of an incident; back to where it was sent from."""
    group = selectors.question_group_get(group_id, organization=request.reviewer.organization)
    back = _safe_next(request, default="/inbox/")
    try:
        result = services.group_answer(
            group=group, answer=request.POST.get("answer", ""),
            answered_by=request.reviewer.display_name, user=request.user, channel=Channel.WEB,
        )  # fmt: skip
    except DeskError as exc:
        messages.error(request, f"The incident was not answered: {exc.message}.")
        return redirect(back)
    done = f"Answered {len(result.answered)} question(s) of “{group.title}”: their runs resume."
    if result.skipped:
        done += f" {len(result.skipped)} had been answered, expired or cancelled meanwhile."
    messages.success(request, done)
    return redirect("inbox:inbox")


@require_http_methods(["GET", "POST"])
@reviewer_required
def question_knowledge(request: HttpRequest, question_id) -> HttpResponse:
    """Save an answered question's answer as an article or a release note (a prefilled form)."""
    question = selectors.question_get(question_id, organization=request.reviewer.organization)
    draft = services.knowledge_draft(question) if request.method == "GET" else {
        name: request.POST.get(name, "") for name in ("kind", "title", "body", "tags", "version")
    }
    error, status = "", 200
    if request.method == "POST":
        try:
            services.knowledge_from_answer(question=question, **draft,
                                           actor=request.reviewer.display_name)  # fmt: skip
        except DeskError as exc:
            error, status = exc.message, 400 if exc.code != "conflict" else 409
        else:
            what = "an article" if draft["kind"] == "article" else "a release note"
            messages.success(request, f"Saved as {what}: the agents' searches find it from now on.")
            return redirect("inbox:question", question_id=question.pk)
    return render(request, "inbox/knowledge.html", {"question": question, "draft": draft,
                                                    "error": error}, status=status)  # fmt: skip


@require_GET
@reviewer_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    priority = request.GET.get("priority", "")
    q, search_error = _search(request)
    tickets = selectors.tickets_for(
        organization=request.reviewer.organization,
        status=status if status in TicketStatus.values else "",
        priority=priority if priority in Priority.values else "",
        q=q,
    )
    page_obj = Paginator(tickets, LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inbox/tickets.html", {
        "tickets": page_obj.object_list, "page_obj": page_obj, "status": status,
        "priority": priority, "statuses": TicketStatus.choices, "priorities": Priority.values,
        "tab": "tickets", "q": q, "search_error": search_error,
        "search_max": selectors.SEARCH_MAX_LENGTH,
    }, status=400 if search_error else 200)  # fmt: skip


@require_GET
@reviewer_required
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    ticket = selectors.ticket_get(ticket_id, organization=request.reviewer.organization)
    template = "inbox/ticket.html#live" if request.htmx else "inbox/ticket.html"
    return render(request, template, ticket_context(ticket))


def ticket_context(ticket) -> dict:
    runs = list(ticket.runs.order_by("created_at"))
    return {
        "ticket": ticket,
        "replies": list(ticket.replies.all()),
        "questions": list(
            ticket.questions.select_related("claimed_by", "group").order_by("created_at")
        ),
        "messages_of_customer": list(ticket.messages.all()),
        "activity": list(ticket.activity.all()),
        "runs": [(run, run_timeline(run)) for run in runs],
        "tab": "tickets",
    }


TICKET_ACTIONS = {
    "close": (services.ticket_close, "Ticket #{pk} closed: its run stops."),
    "reopen": (services.ticket_reopen, "Ticket #{pk} reopened: a new run reads the conversation."),
    "retry": (services.ticket_retry, "Ticket #{pk}: its failed run is retried."),
}


@require_POST
@reviewer_required
def ticket_action(request: HttpRequest, ticket_id: int, action: str) -> HttpResponse:
    """Close, reopen, retry (confirmed in the page first); recorded as this reviewer's."""
    ticket = selectors.ticket_get(ticket_id, organization=request.reviewer.organization)
    who = request.reviewer.display_name
    try:
        if action in TICKET_ACTIONS:
            act, done = TICKET_ACTIONS[action]
            act(ticket=ticket, actor=who, channel=Channel.WEB)
        elif action == "reply":
            services.ticket_manual_reply(ticket=ticket, body=request.POST.get("body", ""),
                                         user=request.user, author=who)  # fmt: skip
            done = "Your reply to ticket #{pk} was sent."
        elif action == "message":
            services.ticket_message(ticket=ticket, body=request.POST.get("body", ""),
                                    entered_by=who, channel=Channel.WEB)  # fmt: skip
            done = "The customer's message was added to ticket #{pk}."
        else:
            raise Http404("no such action")
        messages.success(request, done.format(pk=ticket.pk))
    except DeskError as exc:
        messages.error(request, exc.message)
    return redirect("inbox:ticket", ticket_id=ticket.pk)
