"""The one list of provider kinds. Model choices come from here; an unknown kind fails
loudly instead of silently doing nothing."""

from __future__ import annotations

from importlib import import_module

from .capabilities import MATRIX

# kind -> (label, "module:Class" of the adapter, or None when the provider is not pushed to).
# The label is the capabilities' one: each provider has one name.
PROVIDERS = {
    kind: (MATRIX[kind].label, path) for kind, path in (
        ("webex", "providers.webex:WebexProvider"),
        ("graph", None),
        ("ucwa", "providers.ucwa:UcwaProvider"),
        ("lync", None),
    )
}

assert set(PROVIDERS) == set(MATRIX), "registry and capability matrix must list the same kinds"

KIND_CHOICES = [(kind, label) for kind, (label, _path) in PROVIDERS.items()]


class UnknownProvider(LookupError):
    pass


def get_provider(kind: str):
    """The push adapter of `kind`, or None when that kind is not pushed to."""
    try:
        _label, path = PROVIDERS[kind]
    except KeyError:
        raise UnknownProvider(f"unknown provider kind {kind!r}") from None
    if path is None:
        return None
    module_name, class_name = path.split(":")
    return getattr(import_module(module_name), class_name)()
