from makercloud.ledger.views import journal, rules, statements

app_name = "ledger"
urlpatterns = journal.urlpatterns + rules.urlpatterns + statements.urlpatterns
