"""Local emulator of the call-forwarding provider HTTP APIs ("the sandbox").

It speaks the wire contracts of Webex Calling (person call forwarding settings),
Skype for Business UCWA (callForwardingSettings) and Microsoft Graph call redirect
(v1.0 and beta, including simulated incoming calls and their callback notifications),
plus a control API under ``/_sandbox/`` that tests use to seed data, switch on
errors, rate limits and faults, and read back what the sandbox received.

Pure standard library on purpose: it must start without Django or any other part of
the portal so that it can stand in for the real providers in tests, demos and load
runs.  Start it with ``python -m providers.sandbox --port 8025``; see docs/sandbox.md.
"""

from .server import SandboxServer, create_server

__all__ = ["SandboxServer", "create_server"]
