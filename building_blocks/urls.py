app_name = "building_blocks"

urlpatterns: list = []
