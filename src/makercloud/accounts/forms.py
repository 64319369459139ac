"""Forms of the account pages. They parse and check input; the services decide."""

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils.translation import gettext_lazy as _

from makercloud.accounts import services
from makercloud.accounts.models import Intent, OrganisationKind, Role
from makercloud.accounts.scopes import SCOPES
from makercloud.core.ratelimits import TooManyRequests


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})
    )
    name = forms.CharField(label=_("Your name"), max_length=120, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password and not like your name or e-mail."),
    )
    intent = forms.ChoiceField(
        label=_("I am here to"), choices=Intent.choices, initial=Intent.MAKER, widget=forms.RadioSelect
    )


class SignInForm(AuthenticationForm):
    """Sign in with an e-mail address, in any letter case."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("E-mail address")
        self.fields["username"].widget = forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True})

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()

    def clean(self) -> dict[str, Any]:
        """Django's check of the password, after the limit on wrong ones (which counts each wrong one)."""
        email = self.cleaned_data.get("username") or ""
        client = self.request.META.get("REMOTE_ADDR", "") if self.request is not None else ""
        if email:
            try:
                services.sign_in_check(email=email, client=client)
            except TooManyRequests as error:
                raise forms.ValidationError(error.detail, code="rate-limited") from error
        try:
            return super().clean()
        except forms.ValidationError:
            if email and self.cleaned_data.get("password"):
                services.sign_in_failed(email=email, client=client)
            raise


class ResetPasswordForm(PasswordResetForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].label = _("E-mail address")


class ProfileForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=120)
    intent = forms.ChoiceField(label=_("I am here to"), choices=Intent.choices, widget=forms.RadioSelect)


EXPIRY_CHOICES = [
    ("", _("Never")),
    ("7", _("In 7 days")),
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In a year")),
]


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=80, help_text=_("What the token is for, such as “backup script”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=list(SCOPES.items()), widget=forms.CheckboxSelectMultiple,
        help_text=_("Give a token only what its script needs."),
    )
    expires_in = forms.ChoiceField(label=_("Expires"), choices=EXPIRY_CHOICES, required=False)

    def expiry(self) -> timedelta | None:
        days = self.cleaned_data.get("expires_in")
        return timedelta(days=int(days)) if days else None


class OrganisationForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(OrganisationKind.SUPPLIER, _("Supplier of modules and services")),
                 (OrganisationKind.INVESTOR, _("Investor or solver"))],
        widget=forms.RadioSelect,
        initial=OrganisationKind.SUPPLIER,
    )
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you offer, in a few sentences."),
    )


class OrganisationEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[(Role.MEMBER, Role.MEMBER.label), (Role.ADMIN, Role.ADMIN.label), (Role.OWNER, Role.OWNER.label)],
        initial=Role.MEMBER,
        required=False,
    )

    def clean_role(self) -> str:
        return self.cleaned_data.get("role") or Role.MEMBER


class VerificationForm(forms.Form):
    decision = forms.ChoiceField(choices=[("verify", _("Verify")), ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
