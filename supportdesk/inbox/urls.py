from django.urls import path

from supportdesk.inbox import email_views, slack_interactions, views

app_name = "inbox"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/history/", views.history, name="history"),
    path("questions/<uuid:question_id>/", views.question_detail, name="question"),
    path("questions/<uuid:question_id>/answer", views.question_answer, name="answer"),
    path("questions/<uuid:question_id>/decide", views.question_decide, name="decide"),
    path("questions/<uuid:question_id>/assign", views.question_assign, name="assign"),
    path("questions/<uuid:question_id>/claim", views.question_claim, name="claim"),
    path("questions/<uuid:question_id>/release", views.question_release, name="release"),
    path("questions/<uuid:question_id>/ungroup", views.question_ungroup, name="ungroup"),
    path("questions/<uuid:question_id>/knowledge", views.question_knowledge, name="knowledge"),
    path("groups/<int:group_id>/answer", views.group_answer, name="group-answer"),
    path("tickets/", views.ticket_list, name="tickets"),
    path("tickets/<int:ticket_id>/", views.ticket_detail, name="ticket"),
    path("tickets/<int:ticket_id>/<str:action>", views.ticket_action, name="ticket-action"),
    # Answering and deciding from Slack and email (authenticated by signature, secret or token).
    path("slack/interactions", slack_interactions.interactions, name="slack-interactions"),
    path("inbound/email", email_views.inbound_email, name="inbound-email"),
    path("email/approvals/<str:token>/", email_views.approval_by_email, name="approval-by-email"),
]
