"""Answering and deciding by email.

A question's notification carries a reply address, `reply+<token>@INBOUND_EMAIL_DOMAIN`: the token
names the question, expires (SUPPORTDESK_EMAIL_TOKEN_MAX_AGE) and is signed with the site's secret
key. A reply reaches `inbound_email_receive` (from POST /inbound/email or `manage.py
inbound_email`), which checks the token and that the sender is a reviewer of the question's
organization, keeps only what they wrote (no quoted text, no signature: mail-parser-reply) and
answers through the desk's service, channel email. Anything refused is told to the sender by
email, and nothing is recorded.

An approval's notification carries signed links instead, one set per reviewer: they open a
confirmation page (email_views.py); a GET never decides.
"""

import base64
import contextlib
import email
import email.policy
import logging
import re
import struct
import time
import uuid
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import EmailMessage as ParsedMessage
from email.utils import getaddresses, parseaddr

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import strip_tags
from mailparser_reply import EmailReplyParser

from agents.step import parse_duration
from supportdesk.desk import services
from supportdesk.desk.errors import DeskError
from supportdesk.desk.models import Channel, Question, RequestKind, Reviewer

logger = logging.getLogger(__name__)

REPLY_SALT = "supportdesk.inbox.email-reply"
DECISION_SALT = "supportdesk.inbox.email-decision"
LOCAL_PART_PREFIX = "reply+"
_MAC_BYTES = 12  # 96 bits: HMAC-SHA256 truncated, as IPsec and TLS do
_TOKEN = re.compile(r"[a-z2-7]{52}")


class TokenProblem(Exception):
    """A reply address or a link that can't be used: forged (or damaged), or expired."""


def token_max_age_seconds() -> int:
    return int(parse_duration(settings.EMAIL_TOKEN_MAX_AGE).total_seconds())


# --- reply addresses -------------------------------------------------------------------------
# django.core.signing's tokens (base64 with ':' separators, ~75 characters) don't fit an address's
# local part, which is at most 64 characters, may not hold ':', and is lowercased by some mail
# systems. This token is Django's salted HMAC of the same secret key, in lowercase base32:
# question id (16 bytes) + issued-at (4) + MAC (12) = 52 characters; "reply+" + token = 58.


def _mac(payload: bytes, secret: str) -> bytes:
    return salted_hmac(REPLY_SALT, payload, secret=secret, algorithm="sha256").digest()[:_MAC_BYTES]


def reply_token(question_id, *, issued_at: float | None = None) -> str:
    payload = uuid.UUID(str(question_id)).bytes + struct.pack(">I", int(issued_at or time.time()))
    raw = payload + _mac(payload, settings.SECRET_KEY)
    return base64.b32encode(raw).decode().rstrip("=").lower()


def reply_token_question_id(token: str) -> uuid.UUID:
    """The question a reply token names, or TokenProblem."""
    token = (token or "").strip().lower()
    if not _TOKEN.fullmatch(token):
        raise TokenProblem("this reply address is not one of ours: it was altered or made up")
    raw = base64.b32decode(token.upper() + "====")
    if base64.b32encode(raw).decode().rstrip("=").lower() != token:
        # The last character carries 4 unused bits: only the one spelling we issue is valid.
        raise TokenProblem("this reply address is not one of ours: it was altered or made up")
    payload, mac = raw[:20], raw[20:]
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(constant_time_compare(mac, _mac(payload, key)) for key in keys):
        raise TokenProblem("this reply address is not one of ours: it was altered or made up")
    (issued_at,) = struct.unpack(">I", payload[16:])
    if time.time() - issued_at > token_max_age_seconds():
        raise TokenProblem(
            "this reply address has expired: answer in the inbox instead, or reply to a newer "
            "notification"
        )
    return uuid.UUID(bytes=payload[:16])


def reply_address(question: Question) -> str:
    """`reply+<token>@<domain>`, or "" when answering by email is not set up."""
    if not settings.INBOUND_EMAIL_DOMAIN:
        return ""
    return f"{LOCAL_PART_PREFIX}{reply_token(question.pk)}@{settings.INBOUND_EMAIL_DOMAIN}"


# --- approval links --------------------------------------------------------------------------


def decision_token(question: Question, reviewer: Reviewer) -> str:
    """A link's token: this approval, for this reviewer (who is the one deciding)."""
    return signing.dumps({"q": str(question.pk), "r": reviewer.pk}, salt=DECISION_SALT)


def decision_token_read(token: str) -> tuple[uuid.UUID, int]:
    try:
        data = signing.loads(token, salt=DECISION_SALT, max_age=token_max_age_seconds())
    except signing.SignatureExpired:
        raise TokenProblem("this link has expired: decide in the inbox instead") from None
    except signing.BadSignature:
        raise TokenProblem("this link is not one of ours: it was altered or made up") from None
    try:
        return uuid.UUID(str(data["q"])), int(data["r"])
    except (KeyError, TypeError, ValueError):
        raise TokenProblem("this link is not one of ours: it was altered or made up") from None


def decision_links(question: Question, reviewer: Reviewer) -> dict[str, str]:
    page = f"{settings.SITE_URL}/email/approvals/{decision_token(question, reviewer)}/"
    return {"approve_url": f"{page}?decision=approve", "reject_url": f"{page}?decision=reject"}


# --- inbound replies -------------------------------------------------------------------------


@dataclass
class InboundOutcome:
    status: str  # answered, refused (the sender was told why), ignored, malformed
    reason: str = ""
    question_id: uuid.UUID | None = None


class Refusal(Exception):
    def __init__(
        self, reason: str, *, question: Question | None = None, reviewer: Reviewer | None = None
    ):
        super().__init__(reason)
        self.reason = reason
        self.question = question
        self.reviewer = reviewer


def _headers(message: ParsedMessage, name: str) -> list[str]:
    """A header's values as sent (unparsed: a malformed header can't make the parser raise)."""
    return [
        " ".join(str(value).split())
        for key, value in message.raw_items()
        if key.lower() == name.lower()
    ]


def _header(message: ParsedMessage, name: str) -> str:
    return next(iter(_headers(message, name)), "")


def _addresses(message: ParsedMessage, recipient: str) -> list[str]:
    names = ["Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"]
    values = [recipient] + [value for name in names for value in _headers(message, name)]
    return [address for _name, address in getaddresses(values) if address]


def _token_of(addresses: list[str]) -> str | None:
    """The token of the first reply address of ours among `addresses`."""
    for address in addresses:
        local, _, domain = address.strip().rpartition("@")
        if domain.lower() == settings.INBOUND_EMAIL_DOMAIN and local.lower().startswith(
            LOCAL_PART_PREFIX
        ):
            return local[len(LOCAL_PART_PREFIX) :]
    return None


def _automatic(message: ParsedMessage, sender: str) -> bool:
    """An auto-reply, a bounce or a list: never answered back (mail loops)."""
    if (_header(message, "Auto-Submitted") or "no").lower() != "no":
        return True
    if _header(message, "Precedence").lower() in ("bulk", "junk", "list"):
        return True
    local = sender.partition("@")[0].lower()
    own = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    return local in ("mailer-daemon", "postmaster") or sender.lower() == own


def reply_text(message: ParsedMessage) -> str:
    """What the sender wrote: the plain text (else the HTML as text), without the quoted message
    it replies to and without their signature."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        text = part.get_content() if part is not None else ""
    except (LookupError, UnicodeError, AssertionError, ValueError, TypeError, IndexError):
        raise Refusal(
            "its text could not be read (a broken message, or an unknown character set?)"
        ) from None
    if not isinstance(text, str):
        return ""
    if part.get_content_type() == "text/html":
        text = strip_tags(re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text))
    parsed = EmailReplyParser(languages=["en"]).read(text)
    if not parsed.replies or parsed.replies[0].headers:
        return ""  # the first fragment already is the quoted message: nothing was written above
    lines = parsed.replies[0].body.splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith(">")).strip()


def inbound_email_receive(raw: bytes, *, recipient: str = "") -> InboundOutcome:
    """Take a reply (a raw RFC 822 message): answer its question, or tell the sender why not."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not message.keys():
        return InboundOutcome("malformed", "not an RFC 822 message: it has no headers")
    sender = parseaddr(_header(message, "From"))[1].strip()
    if "@" not in sender:
        return InboundOutcome("malformed", "the message has no sender (From) to answer as")
    if _automatic(message, sender):
        return InboundOutcome("ignored", "an automatic message (auto-reply, bounce or list)")
    try:
        question = _answer(message, sender, recipient)
    except Refusal as refusal:
        _tell_sender(message, sender, refusal)
        return InboundOutcome(
            "refused", refusal.reason, refusal.question.pk if refusal.question else None
        )
    return InboundOutcome("answered", "", question.pk)


def _answer(message: ParsedMessage, sender: str, recipient: str) -> Question:
    token = _token_of(_addresses(message, recipient))
    if token is None:
        raise Refusal("it was not sent to a reply address of a question")
    try:
        question_id = reply_token_question_id(token)
    except TokenProblem as exc:
        raise Refusal(str(exc)) from None
    question = (
        Question.objects.select_related("ticket__organization").filter(pk=question_id).first()
    )
    if question is None:
        raise Refusal("the question it answers no longer exists")
    reviewer = (
        Reviewer.objects.select_related("user")
        .filter(
            organization_id=question.ticket.organization_id,
            user__is_active=True,
            user__email__iexact=sender,
        )
        .order_by("pk")
        .first()
    )
    if reviewer is None:
        raise Refusal(
            f"{sender} is not the address of a reviewer of the organization this "
            "question belongs to"
        )
    if question.kind == RequestKind.APPROVAL:
        raise Refusal(
            "this is a proposed tool call: decide it with the links in the email, or in the inbox",
            question=question,
            reviewer=reviewer,
        )
    try:
        answer = reply_text(message)
    except Refusal as refusal:
        refusal.question, refusal.reviewer = question, reviewer
        raise
    if not answer:
        raise Refusal(
            "your reply was empty: write the answer above the quoted message",
            question=question,
            reviewer=reviewer,
        )
    try:
        return services.question_answer(
            question=question,
            answered_by=reviewer.display_name,
            answer=answer,
            user=reviewer.user,
            channel=Channel.EMAIL,
        )
    except DeskError as exc:
        raise Refusal(exc.message, question=question, reviewer=reviewer) from None


def _tell_sender(message: ParsedMessage, sender: str, refusal: Refusal) -> None:
    """A reply saying why nothing was recorded; marked automatic, so it starts no mail loop. The
    question's link goes only to one of its organization's reviewers."""
    subject = _header(message, "Subject")
    with contextlib.suppress(LookupError, UnicodeError, ValueError):  # else shown as sent
        subject = str(make_header(decode_header(subject)))
    subject = " ".join(subject.split())[:200]
    url = ""
    if refusal.question is not None and refusal.reviewer is not None:
        url = f"{settings.SITE_URL}/questions/{refusal.question.pk}/"
    body = render_to_string("inbox/email/refusal_body.txt", {"reason": refusal.reason, "url": url})
    headers = {"Auto-Submitted": "auto-replied"}
    if message_id := _header(message, "Message-ID")[:500]:
        headers.update({"In-Reply-To": message_id, "References": message_id})
    reply = EmailMessage(
        subject=f"Re: {subject}" if subject else "Your email to supportdesk",
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[sender],
        headers=headers,
    )
    try:
        reply.send()
    except Exception:
        logger.warning("telling a sender why their email was refused failed", exc_info=True)
