from makercloud.contracts.views import urlpatterns

app_name = "contracts"

__all__ = ["app_name", "urlpatterns"]
