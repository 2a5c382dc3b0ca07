"""A reviewer's open WebSockets end with their access: signing out, deactivation, and removal
or move as a reviewer close them (after commit); the sockets' own periodic check catches what
no signal reports (an expired session, a changed password)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from supportdesk.desk.models import Reviewer
from supportdesk.inbox import live


def _close_later(user_id: int) -> None:
    transaction.on_commit(lambda: live.close_user_sockets(user_id))


def _signed_out(sender, request, user, **kwargs) -> None:
    if user is not None:
        _close_later(user.pk)


def _user_saved(sender, instance, created: bool, **kwargs) -> None:
    if not created and not instance.is_active:
        _close_later(instance.pk)


def _reviewer_changed(sender, instance, created: bool = False, **kwargs) -> None:
    # Deleted, or moved to another organization: the sockets reconnect with what is allowed now.
    # A reviewer just created has no socket to close (and a late close could end the first one).
    if not created:
        _close_later(instance.user_id)


def connect_signals() -> None:
    user_logged_out.connect(_signed_out, dispatch_uid="inbox-sessions-logout")
    post_save.connect(_user_saved, sender=get_user_model(), dispatch_uid="inbox-sessions-user")
    post_delete.connect(_reviewer_changed, sender=Reviewer, dispatch_uid="inbox-sessions-gone")
    post_save.connect(_reviewer_changed, sender=Reviewer, dispatch_uid="inbox-sessions-moved")
