from django.apps import AppConfig


class EposConfig(AppConfig):
    name = "epos"
    verbose_name = "EPOS"
