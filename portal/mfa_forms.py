"""allauth's two-factor forms, asking phones for the numeric keypad and one-time-code
autofill (settings.MFA_FORMS), with a label above the field instead of a placeholder."""

from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm

# No maxlength or pattern: a recovery code has 8 digits, and a pasted "123 456" is fine.
CODE_ATTRS = {"inputmode": "numeric", "autocomplete": "one-time-code", "spellcheck": "false",
              "autocapitalize": "off"}


class _NumericCode:
    code_label = "Authentication code"
    code_help = "The 6-digit code your authenticator app shows, or one of your recovery codes."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["code"]
        field.widget.attrs.update(CODE_ATTRS)
        field.widget.attrs.pop("placeholder", None)
        field.label = self.code_label
        field.help_text = self.code_help


class NumericAuthenticateForm(_NumericCode, AuthenticateForm):
    pass


class NumericReauthenticateForm(_NumericCode, ReauthenticateForm):
    pass


class NumericActivateTOTPForm(_NumericCode, ActivateTOTPForm):
    code_help = "The 6-digit code your authenticator app shows after you add the key."
