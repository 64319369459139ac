from django.urls import path

from makercloud.accounts.urls import organisation_urlpatterns
from makercloud.web import views

app_name = "web"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("timeline/", views.timeline, name="timeline"),
    *organisation_urlpatterns,
]
