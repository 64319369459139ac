from django.urls import URLPattern

app_name = "automations"
urlpatterns: list[URLPattern] = []
