from makercloud.developers.views import clients, webhooks

app_name = "developers"
urlpatterns = clients.urlpatterns + webhooks.urlpatterns
