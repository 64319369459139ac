from django.urls import path

from makercloud.devices import views

app_name = "devices"
urlpatterns = [
    path("ventures/<slug:slug>/devices/", views.fleet, name="fleet"),
    path("device-models/<int:pk>/", views.model_detail, name="model"),
    path("home/", views.home, name="home"),
    path("devices/<str:device_id>/", views.device_detail, name="device"),
    path("devices/<str:device_id>/live/", views.device_live, name="live"),
    path("devices/<str:device_id>/actions/<str:action>/", views.device_invoke, name="invoke"),
    path("devices/<str:device_id>/<str:what>/", views.device_manage, name="manage"),
]
