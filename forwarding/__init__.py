"""The forwarding domain: settings, validation, routing, the push pipeline and pages."""
