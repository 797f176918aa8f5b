"""Template helpers of the portal's form partials (templates/partials/field.html)."""

from django import template

register = template.Library()


@register.filter
def plain_label(field):
    """The field's <label> without a suffix: labels sit above their fields on every page,
    so no ":" — also for forms the portal does not build itself (allauth's sign-in,
    two-factor and password forms keep Django's default ":" otherwise)."""
    return field.label_tag(label_suffix="")
