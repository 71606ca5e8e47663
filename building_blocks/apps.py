from django.apps import AppConfig


class BuildingBlocksConfig(AppConfig):
    name = "building_blocks"
    verbose_name = "Building blocks"

    def ready(self):
        from building_blocks import myday, search, timeline

        search.register()
        timeline.register()
        myday.register()
