from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self):
        from epos.outbox import register_consumer
        from integrations import timeline
        from integrations.sync import google_drive
        from integrations.webhooks.services import fan_out

        register_consumer("webhooks", fan_out)
        register_consumer("google-drive-documents", google_drive.drive_on_outbox_message)
        google_drive.register_deal_page()
        timeline.register()
