"""REST export routes under /api/v1/ (DESIGN §6)."""

urlpatterns: list = []
