"""Browser dashboard pages."""

urlpatterns: list = []
