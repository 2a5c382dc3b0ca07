from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "supportdesk.desk"
    label = "desk"
    verbose_name = "Support desk"
