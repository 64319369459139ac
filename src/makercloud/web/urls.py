from django.urls import path

from makercloud.web import views

app_name = "web"
urlpatterns = [
    path("", views.landing, name="landing"),
    path("dashboard/", views.dashboard, name="dashboard"),
]
