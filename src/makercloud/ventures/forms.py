from django import forms
from django.utils.translation import gettext_lazy as _

from makercloud.ventures.models import Origin


class VentureForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, widget=forms.TextInput(attrs={"autofocus": True}))
    mission = forms.CharField(
        label=_("Mission"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("In a sentence: which users, which need, what you will make for them."),
    )
    origin = forms.ChoiceField(
        label=_("Origin"), choices=Origin.choices, initial=Origin.OUTSIDE_ENTREPRENEUR, widget=forms.RadioSelect
    )
