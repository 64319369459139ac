from django.urls import path

from makercloud.automations import views

app_name = "automations"
urlpatterns = [
    path("automations/", views.automation_list, name="list"),
    path("automations/new/", views.automation_new, name="new"),
    path("automations/<int:pk>/", views.automation_detail, name="detail"),
    path("automations/<int:pk>/delete/", views.automation_delete, name="delete"),
    path("scenes/", views.scene_list, name="scenes"),
    path("scenes/<int:pk>/run/", views.scene_run, name="scene_run"),
    path("scenes/<int:pk>/delete/", views.scene_delete, name="scene_delete"),
]
