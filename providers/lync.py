"""Lync Server 2013: compile people's forwarding rules into an MSPL application manifest
(seed 004). Pure: rules in, manifest bytes out; no Django, no clock, no randomness, so
the same rules always give the same bytes.

The manifest follows the seed's layout: appUri, allowRegistrationBeforeUserServices,
serverFilter ALL, requestFilter INVITE, responseFilter NONE, scriptOnly, and the script
in a CDATA section. The script:

1. leaves anything that is not a request alone;
2. proxies requests inside an existing session unchanged: a request whose To header
   carries a tag belongs to a dialog that is already set up (RFC 3261 §12), and the
   seed says forwarding must not apply to session-bound messages;
3. for each person with rules (ordered by address), in the precedence of
   forwarding.rules.routing: caller rules in their order, then always-forward. A *forward*
   becomes `RetargetRequest(uri)` (the caller is not told), a *redirect* becomes
   `Respond("302", "Moved Temporarily", "Contact=<uri>")` (the caller is told and calls
   the new address); anything else for that person is `ProxyRequest("")`;
4. proxies every other request unchanged.

Escaping (no value can leave its string literal or the CDATA section): every value the
script contains is a SIP/tel URI or a piece of one, so it is first percent-encoded the
way RFC 3261 escapes URI characters: any byte outside a conservative ASCII set (letters,
digits and `-._~!$&'()*+,;=:@/?%`) becomes %HH of its UTF-8 encoding. That covers
non-ASCII letters (a SIP URI carries them percent-encoded on the wire anyway), control
characters and newlines (the portal's validation refuses those before they are stored;
this is a second line), double quotes, backslashes, `<`, `>`, `[` and `]`. The result is then
written as an MSPL string literal with `\\` and `\"` escaped, which is a no-op for such
a value but keeps the literal writer safe on its own. Since `>` never survives, `]]>`
cannot occur inside the CDATA section; the CDATA writer still splits any `]]>` as a
last guard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from providers.addresses import E164_RE, EXTENSION_RE

NAMESPACE = "http://schemas.microsoft.com/lcs/2006/05"
ANONYMOUS_ADDRESS = "anonymous@anonymous.invalid"  # RFC 3323

_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "-._~!$&'()*+,;=:@/?%"
)


@dataclass(frozen=True)
class CallerRule:
    """"Calls from these callers go to `destination`", as forwarding.rules.routing reads it."""

    callers: tuple[str, ...]  # E.164 numbers, extensions, sip: URIs (normalised)
    destination: str  # sip:/tel: URI, E.164 number or extension
    disposition: str = "forward"  # "forward" | "redirect"
    match_anonymous: bool = False
    # Every caller: no condition on From (the rules after it are never reached).
    match_all: bool = False

    @property
    def matches_someone(self) -> bool:
        return self.match_all or bool(self.callers) or self.match_anonymous


@dataclass(frozen=True)
class PersonRules:
    """One person's rules that an MSPL script can apply (Lync has no time window,
    simultaneous ring, busy, no-answer or offline forwarding: see capabilities)."""

    address: str  # the called person's sip: URI (or E.164 number when there is none)
    caller_rules: tuple[CallerRule, ...] = ()
    always_destination: str = ""  # "" when always-forward is off
    # The SIP domain that turns a number or extension into a SIP URI
    # (sip:+4930...@domain;user=phone); the person's own domain by default.
    domain: str = ""

    @property
    def has_rules(self) -> bool:
        return bool(self.always_destination) or any(
            r.destination and r.matches_someone for r in self.caller_rules
        )


# --- escaping ---------------------------------------------------------------------------------


def uri_safe(value: str) -> str:
    """`value` with every character outside the safe set percent-encoded (UTF-8)."""
    out = []
    for ch in value:
        if ch in _SAFE:
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
    return "".join(out)


def mspl_literal(text: str) -> str:
    """An MSPL string literal of `text` as it is (backslash and double quote escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mspl_string(value: str) -> str:
    """An MSPL string literal holding `value`, made URI-safe first."""
    return mspl_literal(uri_safe(value))


def cdata(text: str) -> str:
    """A CDATA section holding `text`; a `]]>` inside is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


# --- addresses ---------------------------------------------------------------------------------


def _domain_of(address: str) -> str:
    if address.lower().startswith(("sip:", "sips:")) and "@" in address:
        host = address.split("@", 1)[1]
        return re.split(r"[;:?>]", host, maxsplit=1)[0].lower()
    return ""


def _user_at_host(sip_uri: str) -> str:
    """user@host of a sip: URI, lower-case, without parameters or port (what MSPL's
    GetUserAtHost gives, compared ignoring case like forwarding.rules.routing does)."""
    rest = sip_uri.split(":", 1)[1]
    user, _, host = rest.partition("@")
    host = re.split(r"[;:?>]", host, maxsplit=1)[0]
    return f"{user}@{host}".lower()


def target_uri(destination: str, *, domain: str) -> str:
    """The URI a destination is retargeted or redirected to."""
    value = destination.strip()
    lower = value.lower()
    if lower.startswith(("sip:", "sips:", "tel:")):
        return value
    if E164_RE.match(value) or EXTENSION_RE.match(value):
        return f"sip:{value}@{domain};user=phone" if domain else f"tel:{value}"
    return f"sip:{value}"


def _address_condition(var_uri: str, var_address: str, address: str) -> str:
    """An MSPL condition that is true when the URI in `var_uri` is `address`."""
    value = address.strip()
    lower = value.lower()
    if lower.startswith(("sip:", "sips:")) and "@" in value:
        return f"EqualString({var_address}, {mspl_string(_user_at_host(value))}, true)"
    if lower.startswith("tel:"):
        value = value[4:].split(";", 1)[0]
    if E164_RE.match(value):
        # sip:+4930...@host;user=phone from a gateway, or a tel: URI.
        return (f"ContainsString({var_uri}, {mspl_string('sip:' + value + '@')}, true) || "
                f"EqualString({var_uri}, {mspl_string('tel:' + value)}, true)")
    if EXTENSION_RE.match(value):
        return (f"ContainsString({var_uri}, {mspl_string('sip:' + value + '@')}, true) || "
                f"ContainsString({var_uri}, {mspl_string(';ext=' + value)}, true)")
    # Anything else is compared as it is; it simply never matches a real request.
    return f"EqualString({var_uri}, {mspl_string(value)}, true)"


def _caller_condition(rule: CallerRule) -> str:
    parts = [_address_condition("fromUri", "fromAddress", c) for c in rule.callers]
    if rule.match_anonymous:
        parts.append(f"EqualString(fromAddress, {mspl_string(ANONYMOUS_ADDRESS)}, true)")
    return " ||\n        ".join(f"({p})" if "||" in p else p for p in parts)


def _action(destination: str, disposition: str, *, domain: str, indent: str) -> list[str]:
    uri = target_uri(destination, domain=domain)
    if disposition == "redirect":
        # The angle brackets are ours; the URI inside them is made safe on its own.
        contact = mspl_literal("Contact=<" + uri_safe(uri) + ">")
        call = f'Respond("302", "Moved Temporarily", {contact});'
    else:
        call = f"RetargetRequest({mspl_string(uri)});"
    return [f"{indent}{call}", f"{indent}return;"]


# --- the manifest ---------------------------------------------------------------------------------


def _sort_key(person: PersonRules):
    address = person.address.strip()
    key = _user_at_host(address) if address.lower().startswith(("sip:", "sips:")) and \
        "@" in address else address
    return (uri_safe(key), uri_safe(address))


def compile_script(people) -> str:
    lines = [
        "",
        "if (!sipRequest) {",
        "    return;",
        "}",
        "",
        "// A To tag means the request belongs to a session that is already set up:",
        "// forwarding applies to new calls only, so let it through unchanged.",
        'if (ContainsString(sipRequest.To, "tag=", true)) {',
        '    ProxyRequest("");',
        "    return;",
        "}",
        "",
        "toUri = GetUri(sipRequest.To);",
        "fromUri = GetUri(sipRequest.From);",
        "toAddress = GetUserAtHost(toUri);",
        "if (toAddress == null) {",
        '    toAddress = "";',
        "}",
        "fromAddress = GetUserAtHost(fromUri);",
        "if (fromAddress == null) {",
        '    fromAddress = "";',
        "}",
    ]
    seen = set()
    for person in sorted((p for p in people if p.has_rules), key=_sort_key):
        key = _sort_key(person)[0]
        if key in seen:  # two people on one address: the first one's rules apply
            continue
        seen.add(key)
        domain = person.domain or _domain_of(person.address)
        lines += ["", f"if ({_address_condition('toUri', 'toAddress', person.address)}) {{"]
        taken = False
        for rule in person.caller_rules:
            if not rule.destination or not rule.matches_someone:
                continue
            if rule.match_all:
                # Every call goes there: nothing after this rule is ever reached.
                lines += _action(rule.destination, rule.disposition, domain=domain,
                                 indent="    ")
                taken = True
                break
            lines.append(f"    if ({_caller_condition(rule)}) {{")
            lines += _action(rule.destination, rule.disposition, domain=domain,
                             indent="        ")
            lines.append("    }")
        if taken:
            pass
        elif person.always_destination:
            lines += _action(person.always_destination, "forward", domain=domain,
                             indent="    ")
        else:
            lines += ['    ProxyRequest("");', "    return;"]
        lines.append("}")
    lines += ["", 'ProxyRequest("");', ""]
    return "\n".join(lines)


def compile_manifest(people, *, app_uri: str) -> bytes:
    """The application manifest (UTF-8 bytes, in fact plain ASCII) for `people`."""
    script = compile_script(people)
    xml = "\n".join([
        '<?xml version="1.0" encoding="utf-8"?>',
        "<r:applicationManifest",
        f"   r:appUri={quoteattr(uri_safe(app_uri))}",
        f'   xmlns:r="{NAMESPACE}">',
        "   <r:allowRegistrationBeforeUserServices/>",
        '   <r:serverFilter roles="ALL"/>',
        "",
        "   <!-- handle INVITE requests -->",
        '   <r:requestFilter methodNames="INVITE"',
        '                 strictRoute="false"',
        '                 registrarGenerated="true"',
        '                 domainSupported="true"/>',
        "",
        "   <!-- handle no response. -->",
        '   <r:responseFilter reasonCodes="NONE"/>',
        "",
        "   <!-- Script-only application. -->",
        "   <r:scriptOnly/>",
        "",
        f"   <r:splScript>{cdata(script)}</r:splScript>",
        "</r:applicationManifest>",
        "",
    ])
    return xml.encode("utf-8")
