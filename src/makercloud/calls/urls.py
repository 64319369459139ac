from makercloud.calls.views import engine, kinds

app_name = "calls"
urlpatterns = engine.urlpatterns + kinds.urlpatterns
