from django.urls import path

from makercloud.gateway import views

app_name = "gateway"
urlpatterns = [
    path("emqx/authenticate", views.emqx_authenticate, name="emqx-authenticate"),
    path("emqx/authorize", views.emqx_authorize, name="emqx-authorize"),
    path("stats", views.stats, name="stats"),
]
