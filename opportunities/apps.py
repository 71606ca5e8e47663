from django.apps import AppConfig


class OpportunitiesConfig(AppConfig):
    name = "opportunities"

    def ready(self):
        from epos.outbox import register_consumer
        from opportunities import search, timeline
        from opportunities.automation import complete_from_evidence

        register_consumer("checklist-evidence", complete_from_evidence)
        search.register()
        timeline.register_own_sources()
