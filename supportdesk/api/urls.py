"""/api/ (REST API, docs at /api/docs) and /e/<event key> (Inngest-compatible event ingestion)."""

from django.urls import path

from supportdesk.api.api import api
from supportdesk.api.ingest import events_ingest

urlpatterns = [
    path("api/", api.urls),
    path("e/<str:event_key>", events_ingest, name="events-ingest"),
]
