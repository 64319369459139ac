"""Scopes a personal access token can carry. A browser session holds all of them."""

from django.utils.translation import gettext_lazy as _

SCOPES = {
    "profile": _("Read your profile"),
    "organisations:read": _("See your organisations, members and invitations"),
    "organisations:write": _("Create and change organisations, invite and remove members"),
    "ventures:read": _("See ventures"),
    "ventures:write": _("Found and change ventures"),
    "events:read": _("Read the event timeline"),
    "devices:read": _("See devices, their twins, models and invocations"),
    "devices:control": _("Set desired state and invoke actions on devices"),
    "devices:manage": _("Publish device models; provision, claim, unbind, disable devices and rotate their secrets"),
    "telemetry:read": _("Read devices' telemetry and event history"),
    "events:subscribe": _("Follow devices' live streams"),
    "ledger:read": _("See your ledger accounts, balances and transfers"),
    "ledger:write": _("Move your organisations' money in the ledger"),
    "apps:read": _("See your ventures' apps, their review and usage"),
    "apps:write": _("Register and change your ventures' apps, rotate their secrets, submit them (operators: review)"),
    "grants:manage": _("See and revoke the apps you have connected"),
    "calls:read": _("See drafts of your calls, your responses and complaints"),
    "calls:write": _("Post and run calls, respond, ask, complain, apply for qualification (operators: decide)"),
    "contracts:read": _("See your contracts, their terms, versions and timeline"),
    "contracts:write": _("Draw up, sign (with your password), amend contracts and record milestones"),
}
ALL_SCOPES = tuple(SCOPES)
