from django.apps import AppConfig


class BuildingBlocksConfig(AppConfig):
    name = "building_blocks"
    verbose_name = "Building blocks"
