"""contracts in the admin: read-only (terms change by amendment, signatures only by their signers)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from makercloud.contracts.models import Contract, ContractVersion, MilestoneRecord, Signature


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contract)
class ContractAdmin(ReadOnly):
    list_display = ("id", "title", "venture", "state", "signed_at")
    list_filter = ("state",)
    search_fields = ("title",)


@admin.register(ContractVersion)
class ContractVersionAdmin(ReadOnly):
    list_display = ("contract", "number", "state", "hash", "signed_at")


@admin.register(Signature)
class SignatureAdmin(ReadOnly):
    list_display = ("version", "party", "signer", "signed_at", "version_hash")


@admin.register(MilestoneRecord)
class MilestoneRecordAdmin(ReadOnly):
    list_display = ("contract", "key", "done_on", "party", "recorded_by", "recorded_at", "confirmed_at")
