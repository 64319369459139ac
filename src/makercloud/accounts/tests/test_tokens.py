from datetime import timedelta

import pytest
from django.utils import timezone

from makercloud.accounts import services
from makercloud.accounts.errors import UnknownScope
from makercloud.accounts.models import PersonalAccessToken


def test_a_token_is_stored_hashed_and_authenticates_until_revoked(maker):
    token, raw = services.token_create(person=maker, name="deploy", scopes=["profile"])
    stored = PersonalAccessToken.objects.get(pk=token.pk)
    assert raw not in (stored.token_hash, stored.prefix) and raw.startswith(f"mc_pat_{stored.prefix}_")
    found = services.token_authenticate(raw=raw)
    assert found is not None and found.person == maker and found.scopes == ["profile"]
    assert PersonalAccessToken.objects.get(pk=token.pk).last_used_at is not None
    services.token_revoke(actor=maker, token=token)
    assert services.token_authenticate(raw=raw) is None


def test_a_guessed_or_expired_token_does_not_authenticate(maker):
    token, raw = services.token_create(person=maker, name="short", expires_at=timezone.now() + timedelta(hours=1))
    assert services.token_authenticate(raw=raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None
    assert services.token_authenticate(raw="mc_pat_00000000_nothing") is None
    PersonalAccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.token_authenticate(raw=raw) is None


def test_unknown_scopes_are_refused(maker):
    with pytest.raises(UnknownScope, match="devices:fly"):
        services.token_create(person=maker, name="x", scopes=["profile", "devices:fly"])
    assert not PersonalAccessToken.objects.exists()
