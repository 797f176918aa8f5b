"""The one form-field partial (templates/partials/field.html) used by every page: forms
without an error summary of their own (partials/form_fields.html) announce each field's
errors; pages with a summary (the forwarding pages) do not announce them twice."""

from django.template.loader import render_to_string

from portal.forms import InvitationForm


def _bad_form():
    form = InvitationForm({"email": "not an address", "role": "member"})
    assert not form.is_valid()
    return form


def test_a_whole_form_announces_its_field_errors():
    html = render_to_string("partials/form_fields.html", {"form": _bad_form()})
    assert '<div class="field-errors" role="alert"><ul class="errorlist" id="id_email_error">' \
        in html
    assert html.count('id="id_email_error"') == 1
    assert '<label for="id_email">' in html and 'id="id_role"' in html


def test_a_single_field_ties_its_errors_to_the_input_without_announcing_them():
    html = render_to_string("partials/field.html", {"field": _bad_form()["email"]})
    # The input names the error list, the one element with that id.
    assert '<div class="field-errors"><ul class="errorlist" id="id_email_error">' in html
    assert html.count('id="id_email_error"') == 1
    assert 'aria-describedby="id_email_error"' in html
    assert "role=" not in html
