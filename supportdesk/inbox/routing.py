from django.urls import path

from supportdesk.inbox import consumers

websocket_urlpatterns = [
    path("ws/inbox/", consumers.InboxConsumer.as_asgi()),
    path("ws/questions/<uuid:question_id>/", consumers.QuestionConsumer.as_asgi()),
    path("ws/tickets/<int:ticket_id>/", consumers.TicketConsumer.as_asgi()),
]
