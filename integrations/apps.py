from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from epos.outbox import register_consumer
        from integrations.webhooks.services import fan_out

        register_consumer("webhooks", fan_out)
