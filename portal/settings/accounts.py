"""django-allauth's settings: sign-in by email, mandatory verification, two-factor and
sign-in with a work account. Imported by base.py; constants only."""

ACCOUNT_ADAPTER = "portal.adapters.PortalAccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_RATE_LIMITS = {
    # Five wrong passwords per account per five minutes, twenty per address per minute.
    "login_failed": "20/m/ip,5/300s/key",
    "login": "30/m/ip",
    "reset_password": "20/m/ip,5/m/key",
}
# Sign in with a work account (portal.adapters.PortalSocialAccountAdapter): an identity
# provider's account signs into the portal account with the same verified address, or
# the one it was linked to; nobody is signed up, and allauth's own matching by email
# (which folds case its own way) stays off. The providers are in identity.py.
SOCIALACCOUNT_ADAPTER = "portal.adapters.PortalSocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = False
SOCIALACCOUNT_STORE_TOKENS = False  # sign-in only: the portal never calls the IdP's APIs
SOCIALACCOUNT_QUERY_EMAIL = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Call forwarding portal"
# Two-factor code fields ask phones for the numeric keypad and one-time-code autofill.
MFA_FORMS = {
    "authenticate": "portal.mfa_forms.NumericAuthenticateForm",
    "reauthenticate": "portal.mfa_forms.NumericReauthenticateForm",
    "activate_totp": "portal.mfa_forms.NumericActivateTOTPForm",
}
