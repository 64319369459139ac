"""sourcing: a venture needs a module — specification (the call's description), quantity, unit price ceiling,
delivery date, category. Only suppliers qualified for the category bid. Bids are SEALED until the deadline: the
content is encrypted with a key derived from SECRET_KEY and the call's id, and opened only by the close step; the
engine keeps their existence and count out of every read path. At the deadline the bids are opened and ranked by the
formula published with the call; the top bid is selected and awarded after the standstill.

Rules: eligibility   = {"category": "battery-packs"}
       response_form = {"quantity": 2000, "unit_price_ceiling": {"minor": 12000, "currency": "CNY"},
                        "delivery_by": "2026-06-30"}
       selection     = {"method": "formula", "weights": {"price": 50, "delivery": 20, "quality": 15, "rating": 15},
                        "quality_commitments": {"iso9001": 2, "warranty-24m": 2, "ppm-500": 1}, "unrated": 3}
Bid: {"unit_price": 11000, "delivery_days": 30, "quality": ["iso9001"], "note": "…"}

The formula (published; every figure exact, Decimal, rounded half-even to 6 places at the end):
    price    = lowest unit price ÷ this bid's unit price
    delivery = fewest delivery days ÷ this bid's delivery days
    quality  = points of the commitments made ÷ points of every commitment offered (0 when none are offered)
    rating   = the supplier's mean rating (1–5; `unrated` when it has none) ÷ 5
    score    = 100 × Σ weight × criterion ÷ Σ weights
Ranked by score, highest first; ties: the lower price, then the fewer days, then the earlier bid.
"""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db.models import Avg
from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, OrganisationKind, User
from makercloud.calls.errors import NotEligible
from makercloud.calls.kinds.base import Kind, day, money, only, text, whole
from makercloud.calls.kinds.errors import InvalidKindRules, InvalidResponse, SealedBidUnreadable
from makercloud.calls.models.engine import Call, Response

CRITERIA = ("price", "delivery", "quality", "rating")
DEFAULT_WEIGHTS = {"price": 50, "delivery": 20, "quality": 15, "rating": 15}
DEFAULT_UNRATED = 3
SIX = Decimal("0.000001")
MAGIC = b"MCSB2"  # makercloud sealed bid, version 2 (AES-256-GCM)
NONCE, TAG = 12, 16


# Sealing ---------------------------------------------------------------------------------------------------------
# AES-256-GCM (the `cryptography` library): the key is derived from SECRET_KEY and the call's id, and the call's id is
# authenticated with the bid, so a bid sealed for one call cannot be opened as another's and nothing but this module
# (called by the close step) can read it.


def _key(call_id: int) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), f"makercloud.calls.sealed-bid.v2:{call_id}".encode(),
                    hashlib.sha256).digest()


def seal_bytes(call_id: int, plaintext: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE)
    return MAGIC + nonce + AESGCM(_key(call_id)).encrypt(nonce, plaintext, MAGIC + str(call_id).encode())


def open_bytes(call_id: int, sealed: bytes) -> bytes:
    if not sealed.startswith(MAGIC) or len(sealed) < len(MAGIC) + NONCE + TAG:
        raise SealedBidUnreadable(detail=_("The sealed bid is damaged."))
    nonce, ciphertext = sealed[len(MAGIC):len(MAGIC) + NONCE], sealed[len(MAGIC) + NONCE:]
    try:
        return AESGCM(_key(call_id)).decrypt(nonce, ciphertext, MAGIC + str(call_id).encode())
    except InvalidTag:
        raise SealedBidUnreadable(detail=_("The sealed bid does not open with this call's key.")) from None


# The formula -----------------------------------------------------------------------------------------------------


def weights_of(call: Call) -> dict[str, int]:
    return {**DEFAULT_WEIGHTS, **((call.selection or {}).get("weights") or {})}


def supplier_ratings(organisation_ids: list[int]) -> dict[int, Decimal]:
    from makercloud.calls.models.kinds import SupplierRating

    rows = (SupplierRating.objects.filter(supplier_id__in=organisation_ids).values("supplier_id")
            .annotate(mean=Avg("stars")))
    return {row["supplier_id"]: Decimal(str(row["mean"])) for row in rows}


def score_bids(call: Call, bids: list[dict[str, Any]]) -> list[Decimal]:
    """The published formula over bids (each: unit_price, delivery_days, quality, rating as Decimal)."""
    if not bids:
        return []
    selection = call.selection or {}
    weights = weights_of(call)
    offered = selection.get("quality_commitments") or {}
    offered_total = sum(offered.values())
    lowest = min(bid["unit_price"] for bid in bids)
    fastest = min(bid["delivery_days"] for bid in bids)
    total_weight = sum(weights.values())
    scores = []
    for bid in bids:
        criteria = {
            "price": Decimal(lowest) / Decimal(bid["unit_price"]),
            "delivery": Decimal(fastest) / Decimal(bid["delivery_days"]),
            "quality": (Decimal(sum(offered.get(key, 0) for key in bid["quality"])) / Decimal(offered_total)
                        if offered_total else Decimal(0)),
            "rating": bid["rating"] / Decimal(5),
        }
        raw = sum((Decimal(weights[name]) * criteria[name] for name in CRITERIA), Decimal(0))
        scores.append((Decimal(100) * raw / Decimal(total_weight)).quantize(SIX, rounding=ROUND_HALF_EVEN))
    return scores


class Sourcing(Kind):
    name = "sourcing"
    sealed = True
    owner_picks = False

    def validate_call(self, *, call: Call) -> None:
        eligibility = dict(call.eligibility or {})
        only(eligibility, {"category"}, error=InvalidKindRules)
        category = text(eligibility, "category", max_length=64, error=InvalidKindRules)
        if not all(c.isalnum() or c in "-_" for c in category) or category != category.lower():
            raise InvalidKindRules(detail=_("A category is a short name of lower-case letters, digits and dashes."))
        form = dict(call.response_form or {})
        only(form, {"quantity", "unit_price_ceiling", "delivery_by"}, error=InvalidKindRules)
        whole(form, "quantity", minimum=1, maximum=10**9, error=InvalidKindRules)
        money(form, "unit_price_ceiling")
        delivery_by = day(form, "delivery_by")
        if call.responses_until is not None and delivery_by is not None and (
                delivery_by <= call.responses_until.date()):
            raise InvalidKindRules(detail=_("The delivery date must come after the deadline for bids."))
        selection = dict(call.selection or {})
        only(selection, {"method", "weights", "quality_commitments", "unrated"}, error=InvalidKindRules)
        if selection.get("method", "formula") != "formula":
            raise InvalidKindRules(detail=_("Sourcing bids are ranked by the published formula: method is "
                                            "\"formula\"."))
        weights = selection.get("weights") or DEFAULT_WEIGHTS
        if not isinstance(weights, dict) or set(weights) != set(CRITERIA):
            raise InvalidKindRules(detail=_("Weigh every criterion: price, delivery, quality, rating."))
        for name in CRITERIA:
            whole(weights, name, minimum=0, maximum=1000, error=InvalidKindRules)
        if sum(weights.values()) == 0:
            raise InvalidKindRules(detail=_("At least one criterion needs a weight."))
        offered = selection.get("quality_commitments") or {}
        if not isinstance(offered, dict) or len(offered) > 20:
            raise InvalidKindRules(detail=_("quality_commitments names up to 20 commitments and their points."))
        for key in offered:
            if not isinstance(key, str) or not 0 < len(key) <= 64:
                raise InvalidKindRules(detail=_("A quality commitment has a short name."))
            whole(offered, key, minimum=1, maximum=100, error=InvalidKindRules)
        unrated = whole({"unrated": selection.get("unrated", DEFAULT_UNRATED)}, "unrated", minimum=1, maximum=5,
                        error=InvalidKindRules)
        call.eligibility = {"category": category}
        call.selection = {"method": "formula", "weights": {name: weights[name] for name in CRITERIA},
                          "quality_commitments": offered, "unrated": unrated}

    def eligible(self, *, call: Call, person: User, organisation: Organisation | None) -> bool | None:
        from makercloud.calls.selectors.engine import supplier_is_qualified

        category = (call.eligibility or {}).get("category", "")
        if organisation is None or organisation.kind != OrganisationKind.SUPPLIER:
            raise NotEligible(detail=_("Bid for a supplier organisation you are a member of."))
        if not supplier_is_qualified(organisation=organisation, category=category):
            raise NotEligible(detail=_("%(supplier)s is not qualified for %(category)s.") % {
                "supplier": organisation.name, "category": category})
        return True

    def validate_response(self, *, call: Call, content: dict[str, Any], person: User,
                          organisation: Organisation | None) -> dict[str, Any]:
        form = call.response_form or {}
        only(content, {"unit_price", "delivery_days", "quality", "note"})
        ceiling = money(form, "unit_price_ceiling")
        assert ceiling is not None
        price = whole(content, "unit_price", minimum=1, maximum=ceiling.minor)
        days = whole(content, "delivery_days", minimum=1, maximum=3650)
        assert days is not None
        delivery_by = day(form, "delivery_by", required=False)
        if delivery_by is not None and call.responses_until is not None and (
                (call.responses_until + timedelta(days=days)).date() > delivery_by):
            raise InvalidResponse(detail=_("Counted from the deadline, delivery must be by %(date)s.") % {
                "date": delivery_by.isoformat()})
        quality = content.get("quality", [])
        offered = (call.selection or {}).get("quality_commitments") or {}
        if not isinstance(quality, list) or any(key not in offered for key in quality) or (
                len(set(quality)) != len(quality)):
            raise InvalidResponse(detail=_("quality lists commitments the call offers: %(keys)s.") % {
                "keys": ", ".join(sorted(offered)) or "—"})
        return {"unit_price": price, "currency": ceiling.currency, "delivery_days": days,
                "quality": sorted(quality), "note": text(content, "note", required=False, max_length=2000)}

    def seal(self, *, call: Call, content: dict[str, Any]) -> bytes:
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return seal_bytes(call.pk, canonical.encode())

    def unseal(self, *, call: Call, response: Response) -> dict[str, Any]:
        if not call.responses_opened:
            raise SealedBidUnreadable()
        if response.sealed_content is None:
            return {}
        return dict(json.loads(open_bytes(call.pk, bytes(response.sealed_content))))

    def evaluate(self, *, call: Call) -> list[Response]:
        from makercloud.calls.services.engine import valid_responses

        responses = [r for r in valid_responses(call) if r.content]
        unrated = Decimal((call.selection or {}).get("unrated", DEFAULT_UNRATED))
        ratings = supplier_ratings([r.organisation_id for r in responses if r.organisation_id])
        bids = [{"unit_price": int(r.content["unit_price"]), "delivery_days": int(r.content["delivery_days"]),
                 "quality": list(r.content.get("quality", [])),
                 "rating": ratings.get(r.organisation_id or 0, unrated)} for r in responses]
        for response, score in zip(responses, score_bids(call, bids), strict=True):
            response.score = score
        return sorted(responses, key=lambda r: (-(r.score or 0), int(r.content["unit_price"]),
                                                int(r.content["delivery_days"]), r.created_at, r.pk))


kind = Sourcing()
