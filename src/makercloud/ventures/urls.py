from django.urls import path

from makercloud.ventures import views

app_name = "ventures"
urlpatterns = [
    path("ventures/", views.venture_list, name="list"),
    path("ventures/new/", views.venture_new, name="new"),
    path("ventures/<slug:slug>/", views.venture_detail, name="detail"),
    path("ventures/<slug:slug>/edit/", views.venture_edit, name="edit"),
]
