"""The hash chain over the journal: each transfer's hash is sha256(previous hash + the transfer's canonical bytes).

The canonical bytes are compact JSON (sorted keys, UTF-8) of a fixed list of the transfer's fields, so anyone can
recompute a hash from an export: see docs/ledger.md.
"""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64


def timestamp(moment: datetime | None) -> str | None:
    """A moment as the chain writes it: UTC, microseconds, 'Z'."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def encode_metadata(metadata: Mapping[str, Any]) -> str:
    """Metadata as the chain (and the database) stores it: compact JSON with sorted keys, as
    json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False) writes it.

    On the path of every append, so strings, integers and nulls are written directly and the whole text is checked
    once: when it is printable, has no backslash and no more quotes than those written around keys and strings,
    nothing in it needed escaping and it is exactly what json.dumps would write. Anything else is json.dumps's.
    """
    if not metadata:
        return "{}"
    parts = []
    quotes = 0
    for key in sorted(metadata):
        value = metadata[key]
        kind = type(value)
        if type(key) is not str:
            return _dumps(metadata)
        if kind is str:
            parts.append(f'"{key}":"{value}"')
            quotes += 4
        elif kind is int:
            parts.append(f'"{key}":{value}')
            quotes += 2
        elif value is None:
            parts.append(f'"{key}":null')
            quotes += 2
        else:  # nested, booleans, numbers of other kinds
            return _dumps(metadata)
    text = "{" + ",".join(parts) + "}"
    if text.isprintable() and "\\" not in text and text.count('"') == quotes:
        return text
    return _dumps(metadata)


def _dumps(metadata: Mapping[str, Any]) -> str:
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(
    *,
    seq: int,
    id: UUID | str,
    debit_account_id: int,
    credit_account_id: int,
    amount: int,
    currency: str,
    kind: str,
    pending_id: UUID | str | None,
    timeout_at: str | None,
    code: str,
    venture_id: int | None,
    reference: str,
    metadata: str,
    batch: UUID | str,
    created_at: str,
) -> bytes:
    """The bytes a transfer's hash covers: the compact JSON array

        [seq, "id", debit_account_id, credit_account_id, amount, "currency", "kind", "pending_id" | null,
         "timeout_at" | null, "code", venture_id | null, "reference", {metadata, keys sorted}, "batch", "created_at"]

    UTF-8, no spaces, non-ASCII characters as themselves. Times are given already formatted by `timestamp`, the
    metadata by `encode_metadata`. (Currency, kind and code are plain ASCII words, checked on the way in.)
    """
    return (
        f'[{seq},"{id}",{debit_account_id},{credit_account_id},{amount},"{currency}","{kind}",'
        f'{_quoted(pending_id)},{_quoted(timeout_at)},"{code}",{"null" if venture_id is None else venture_id},'
        f'{_text(reference)},{metadata},"{batch}","{created_at}"]'
    ).encode()


def _text(value: str) -> str:
    """A JSON string, as json.dumps(value, ensure_ascii=False) writes it (without its cost for plain text)."""
    if value.isprintable() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def _quoted(value: object) -> str:
    return "null" if value is None else f'"{value}"'


def link(prev_hash: str, data: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + data).hexdigest()


def transfer_hash(transfer: Any, prev_hash: str) -> str:
    """Recompute the hash of a stored transfer (a model instance or anything with its attributes)."""
    return link(
        prev_hash,
        canonical(
            seq=transfer.seq, id=transfer.id, debit_account_id=transfer.debit_account_id,
            credit_account_id=transfer.credit_account_id, amount=transfer.amount, currency=transfer.currency,
            kind=transfer.kind, pending_id=transfer.pending_id, timeout_at=timestamp(transfer.timeout_at),
            code=transfer.code, venture_id=transfer.venture_id, reference=transfer.reference,
            metadata=encode_metadata(transfer.metadata), batch=transfer.batch,
            created_at=timestamp(transfer.created_at) or "",
        ),
    )
