from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "supportdesk.api"
    label = "api"
    verbose_name = "API and event keys"
