import os

from django.core.wsgi import get_wsgi_application

from supportdesk.config import UnsafeSettings, refuse_to_start

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
try:
    application = get_wsgi_application()
except UnsafeSettings as exc:
    refuse_to_start(exc)
