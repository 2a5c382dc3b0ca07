"""The email doors: the inbound route an MTA posts replies to, and the confirmation page that an
approval's signed links open (a GET shows the call; only the page's POST decides)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from supportdesk.api.errors import RequestRefused
from supportdesk.api.limits import charge_inbound
from supportdesk.desk import selectors, services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import Channel, Question, RequestKind, Reviewer
from supportdesk.inbox import email_replies


@csrf_exempt  # authenticated by the shared secret instead
@require_POST
def inbound_email(request: HttpRequest) -> HttpResponse:
    """POST /inbound/email: the body is one raw RFC 822 message (as the MTA received it), the
    header X-Inbound-Email-Secret the shared secret. 200 whether the reply was taken or refused
    (the sender is told by email): the MTA has nothing to retry."""
    if not settings.INBOUND_EMAIL_DOMAIN or not settings.INBOUND_EMAIL_SECRET:
        return _plain(
            404, "answering by email is not set up (INBOUND_EMAIL_DOMAIN, INBOUND_EMAIL_SECRET)"
        )
    given = request.headers.get("X-Inbound-Email-Secret", "")
    if not constant_time_compare(given, settings.INBOUND_EMAIL_SECRET):
        return _plain(401, "missing or wrong X-Inbound-Email-Secret")
    try:
        charge_inbound("email")
    except RequestRefused as exc:
        return _plain(exc.status, exc.message, headers=exc.headers)
    if not request.body.strip():
        return _plain(400, "expected a raw RFC 822 message as the request body")
    outcome = email_replies.inbound_email_receive(
        request.body, recipient=request.headers.get("X-Original-To", "")
    )
    status = 400 if outcome.status == "malformed" else 200
    return JsonResponse(
        {
            "status": outcome.status,
            "reason": outcome.reason,
            "question": str(outcome.question_id or ""),
        },
        status=status,
    )


def _plain(status: int, message: str, headers: dict | None = None) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain", headers=headers)


@require_http_methods(["GET", "POST"])
def approval_by_email(request: HttpRequest, token: str) -> HttpResponse:
    """An approval's link from its email. The token names the approval and the reviewer it was
    sent to; a signed-in reviewer of the organization decides as themselves. GET shows the call
    and a confirmation form; the POST of that form (CSRF-protected) decides, channel email."""
    try:
        question_id, reviewer_id = email_replies.decision_token_read(token)
        question = selectors.question_get(question_id)
    except (email_replies.TokenProblem, DeskError) as exc:
        message = str(exc) if isinstance(exc, email_replies.TokenProblem) else exc.message
        return render(request, "inbox/email_decision.html", {"problem": message}, status=400)
    organization = question.ticket.organization
    reviewer = selectors.reviewer_for(request.user) if request.user.is_authenticated else None
    if reviewer is None or reviewer.organization_id != organization.pk:
        reviewer = (
            Reviewer.objects.select_related("user")
            .filter(pk=reviewer_id, organization=organization, user__is_active=True)
            .first()
        )
    if reviewer is None or question.kind != RequestKind.APPROVAL:
        problem = "this link's reviewer is no longer a reviewer of the organization"
        return render(request, "inbox/email_decision.html", {"problem": problem}, status=403)
    context = {
        "question": question,
        "ticket": question.ticket,
        "reviewer": reviewer,
        "now": timezone.now(),
        "chosen": request.GET.get("decision", ""),
    }
    if request.method == "GET":
        return render(request, "inbox/email_decision.html", context)
    return _decide(request, question, reviewer, context)


def _decide(request: HttpRequest, question: Question, reviewer: Reviewer, context: dict):
    decision = request.POST.get("decision", "")
    message = request.POST.get("message", "")
    context.update(chosen=decision, message=message)
    if request.POST.get("confirm") != "yes" or decision not in ("approve", "reject"):
        context["error"] = "confirm the decision with one of the buttons below"
        return render(request, "inbox/email_decision.html", context, status=400)
    try:
        services.approval_decide(
            approval=question,
            decision=decision,
            message=message,
            decided_by=reviewer.display_name,
            user=reviewer.user,
            channel=Channel.EMAIL,
        )
    except DeskError as exc:
        context["error"] = exc.message
        question.refresh_from_db()
        return render(
            request,
            "inbox/email_decision.html",
            context,
            status=409 if exc.code == "conflict" else 400,
        )
    context["done"] = True
    return render(request, "inbox/email_decision.html", context)
