"""providers.lync: the MSPL manifest is well-formed XML in the seed's layout, has the
right statement for each rule kind, is deterministic, and no value can leave its MSPL
string literal or the CDATA section."""

import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from providers import lync

NS = {"r": lync.NAMESPACE}
APP = "https://portal.example/lync/7/forwarding"
# A string literal of the script: no raw quote, backslash or newline inside except as
# an escape pair.
LITERAL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def parse(manifest: bytes):
    root = ET.fromstring(manifest)  # noqa: S314 (our own output, parsed to check it)
    script = root.find("r:splScript", NS).text
    return root, script


def literals(script):
    return [re.sub(r"\\(.)", r"\1", m) for m in LITERAL.findall(script)]


def without_literals(script):
    return LITERAL.sub('""', script)


def person(address="sip:ada@umbrella.example", *, rules=(), always=""):
    return lync.PersonRules(address=address, caller_rules=tuple(rules), always_destination=always)


def block_of(script, address_literal):
    """The statements of one person's block (from its `if` to its closing brace)."""
    start = script.index(f"EqualString(toAddress, {address_literal}, true)")
    end = script.index("\n}\n", start)
    return script[start:end]


class TestLayout:
    def test_the_seeds_manifest_layout(self):
        manifest = lync.compile_manifest([person(always="sip:grace@umbrella.example")],
                                         app_uri=APP)
        assert manifest.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
        root, script = parse(manifest)
        assert root.tag == f"{{{lync.NAMESPACE}}}applicationManifest"
        assert root.get(f"{{{lync.NAMESPACE}}}appUri") == APP
        children = [child.tag.split("}")[1] for child in root]
        assert children == ["allowRegistrationBeforeUserServices", "serverFilter",
                            "requestFilter", "responseFilter", "scriptOnly", "splScript"]
        assert root.find("r:serverFilter", NS).get("roles") == "ALL"
        request_filter = root.find("r:requestFilter", NS)
        assert request_filter.get("methodNames") == "INVITE"
        assert request_filter.get("strictRoute") == "false"
        assert request_filter.get("registrarGenerated") == "true"
        assert request_filter.get("domainSupported") == "true"
        assert root.find("r:responseFilter", NS).get("reasonCodes") == "NONE"
        assert b"<![CDATA[" in manifest

    def test_the_script_skips_non_requests_and_requests_inside_a_session(self):
        _, script = parse(lync.compile_manifest([person(always="+4930123456")], app_uri=APP))
        lines = [line.strip() for line in script.strip().splitlines() if line.strip()]
        assert lines[:3] == ["if (!sipRequest) {", "return;", "}"]
        session = script.index('if (ContainsString(sipRequest.To, "tag=", true)) {')
        assert script[session:].split("}", 1)[0].split("{", 1)[1].split() == [
            'ProxyRequest("");', "return;"]
        # ...before any rule is looked at, and everything else is proxied unchanged.
        assert session < script.index("RetargetRequest")
        assert lines[-1] == 'ProxyRequest("");'

    def test_no_people_with_rules_proxies_everything(self):
        _, script = parse(lync.compile_manifest([person()], app_uri=APP))
        assert "RetargetRequest" not in script and "Respond(" not in script
        assert "toAddress, " not in without_literals(script).split("fromAddress = ")[-1]


class TestRuleKinds:
    def test_always_forward_retargets(self):
        _, script = parse(lync.compile_manifest(
            [person(always="sip:grace@umbrella.example")], app_uri=APP))
        block = block_of(script, '"ada@umbrella.example"')
        assert 'RetargetRequest("sip:grace@umbrella.example");\n    return;' in block

    def test_always_forward_to_a_number_uses_the_persons_domain(self):
        _, script = parse(lync.compile_manifest([person(always="+493012340002")], app_uri=APP))
        assert 'RetargetRequest("sip:+493012340002@umbrella.example;user=phone");' in script

    def test_caller_rule_forward(self):
        rule = lync.CallerRule(callers=("sip:nuriag@contoso.com",),
                               destination="sip:terrya@contoso.com", disposition="forward")
        _, script = parse(lync.compile_manifest(
            [person("sip:jennyl@contoso.com", rules=[rule])], app_uri=APP))
        block = block_of(script, '"jennyl@contoso.com"')
        assert ('    if (EqualString(fromAddress, "nuriag@contoso.com", true)) {\n'
                '        RetargetRequest("sip:terrya@contoso.com");\n'
                '        return;\n    }') in block
        # No other rule: the person's other calls go on unchanged.
        assert block.rstrip().endswith('ProxyRequest("");\n    return;')

    def test_caller_rule_redirect_answers_302_with_a_contact(self):
        rule = lync.CallerRule(callers=("+12025550100",), destination="sip:terrya@contoso.com",
                               disposition="redirect")
        _, script = parse(lync.compile_manifest(
            [person("sip:jennyl@contoso.com", rules=[rule])], app_uri=APP))
        assert ('if ((ContainsString(fromUri, "sip:+12025550100@", true) || '
                'EqualString(fromUri, "tel:+12025550100", true))) {') in script
        assert ('Respond("302", "Moved Temporarily", "Contact=<sip:terrya@contoso.com>");\n'
                '        return;') in script
        assert "RetargetRequest" not in script

    def test_anonymous_and_extension_callers(self):
        rule = lync.CallerRule(callers=("2001",), destination="sip:desk@contoso.com",
                               match_anonymous=True)
        _, script = parse(lync.compile_manifest(
            [person("sip:jennyl@contoso.com", rules=[rule])], app_uri=APP))
        assert 'ContainsString(fromUri, "sip:2001@", true)' in script
        assert 'ContainsString(fromUri, ";ext=2001", true)' in script
        assert 'EqualString(fromAddress, "anonymous@anonymous.invalid", true)' in script

    def test_caller_rules_come_first_in_order_then_always(self):
        rules = [
            lync.CallerRule(callers=("sip:a@x.example",), destination="sip:first@x.example"),
            lync.CallerRule(callers=("sip:a@x.example",), destination="sip:second@x.example"),
        ]
        _, script = parse(lync.compile_manifest(
            [person(rules=rules, always="sip:always@x.example")], app_uri=APP))
        first = script.index('"sip:first@x.example"')
        assert first < script.index('"sip:second@x.example"') < script.index(
            '"sip:always@x.example"')

    def test_a_rule_for_every_caller_retargets_unconditionally_and_ends_the_block(self):
        rules = [
            lync.CallerRule(callers=("sip:a@x.example",), destination="sip:first@x.example"),
            lync.CallerRule(callers=(), match_all=True, destination="sip:all@x.example",
                            disposition="redirect"),
            lync.CallerRule(callers=("sip:b@x.example",), destination="sip:never@x.example"),
        ]
        people = [person(rules=rules, always="sip:always@x.example")]
        assert people[0].has_rules
        _, script = parse(lync.compile_manifest(people, app_uri=APP))
        block = block_of(script, '"ada@umbrella.example"')
        assert block.index('"sip:first@x.example"') < block.index(
            'Respond("302", "Moved Temporarily", "Contact=<sip:all@x.example>");\n    return;')
        # Nothing after a rule for every caller is ever reached, so none is written.
        assert "never@x.example" not in script and "always@x.example" not in script

    def test_a_person_with_a_number_only(self):
        _, script = parse(lync.compile_manifest(
            [person("+493012340001", always="sip:grace@umbrella.example")], app_uri=APP))
        assert ('if (ContainsString(toUri, "sip:+493012340001@", true) || '
                'EqualString(toUri, "tel:+493012340001", true)) {') in script
        # No SIP domain to dial a number in: a tel: URI.
        _, script = parse(lync.compile_manifest(
            [person("+493012340001", always="+493012340002")], app_uri=APP))
        assert 'RetargetRequest("tel:+493012340002");' in script

    def test_rules_without_callers_or_destination_are_left_out(self):
        rules = [lync.CallerRule(callers=(), destination="sip:x@y.example"),
                 lync.CallerRule(callers=("sip:a@b.example",), destination="")]
        people = [person(rules=rules)]
        assert not people[0].has_rules
        _, script = parse(lync.compile_manifest(people, app_uri=APP))
        assert "ada@umbrella.example" not in script


class TestDeterminism:
    def test_same_rules_same_bytes_whatever_the_order(self):
        people = [
            person("sip:zoe@x.example", always="sip:a@x.example"),
            person("sip:Ada@X.example", rules=[lync.CallerRule(("+12025550100",),
                                                              "sip:b@x.example")]),
            person("+12025550199", always="+12025550198"),
        ]
        one = lync.compile_manifest(people, app_uri=APP)
        two = lync.compile_manifest(list(reversed(people)), app_uri=APP)
        assert one == two
        assert one == lync.compile_manifest(people, app_uri=APP)
        _, script = parse(one)
        assert script.index('"sip:+12025550199@"') < script.index('"ada@x.example"') < \
            script.index('"zoe@x.example"')

    def test_a_change_changes_the_bytes(self):
        before = lync.compile_manifest([person(always="sip:a@x.example")], app_uri=APP)
        after = lync.compile_manifest([person(always="sip:b@x.example")], app_uri=APP)
        assert before != after


HOSTILE = [
    'sip:o"brien@x.example',  # a double quote
    "sip:back\\slash@x.example",  # a backslash
    "sip:cdata]]>end@x.example",  # the end of a CDATA section
    "sip:new\nline@x.example",  # a newline
    "sip:tab\there@x.example\r",  # other control characters
    "sip:jürgen@bücher.example",  # non-ASCII
    'sip:x@y.example");RetargetRequest("sip:evil@z.example',  # an injection attempt
    "sip:x@y.example */ ProxyRequest(\"\"); /*",
    "sip:<tag>&amp;@x.example",  # XML markup
]


class TestEscaping:
    @pytest.mark.parametrize("value", HOSTILE)
    def test_a_hostile_destination_stays_inside_its_string(self, value):
        rule = lync.CallerRule(callers=("sip:caller@x.example",), destination=value,
                               disposition="redirect")
        manifest = lync.compile_manifest(
            [person(rules=[rule], always=value)], app_uri=APP)
        root, script = parse(manifest)  # well-formed XML
        assert manifest.isascii()
        assert "]]>" not in script
        # Outside the string literals only the compiler's own statements remain: the same
        # script as for a harmless value.
        harmless = lync.compile_manifest(
            [person(rules=[lync.CallerRule(("sip:caller@x.example",), "sip:ok@x.example",
                                           "redirect")], always="sip:ok@x.example")],
            app_uri=APP)
        assert without_literals(script) == without_literals(parse(harmless)[1])
        statements = [s for s in without_literals(script).split("\n") if "Retarget" in s]
        assert statements == ['    RetargetRequest("");']
        # And the value is all there, percent-encoded as a SIP URI carries it.
        texts = literals(script)
        assert value.strip() in [unquote(t) for t in texts]
        assert f"Contact=<{lync.uri_safe(value.strip())}>" in texts

    @pytest.mark.parametrize("value", HOSTILE)
    def test_a_hostile_caller_or_called_address_stays_inside_its_string(self, value):
        rule = lync.CallerRule(callers=(value, "+12025550100"), destination="sip:ok@x.example")
        manifest = lync.compile_manifest([person(value, rules=[rule])], app_uri=APP)
        _, script = parse(manifest)
        assert "]]>" not in script and manifest.isascii()
        for text in literals(script):
            assert '"' not in text and "\\" not in text and "\n" not in text

    def test_the_literal_writer_escapes_on_its_own(self):
        assert lync.mspl_literal('a"b\\c') == '"a\\"b\\\\c"'
        assert lync.mspl_string('a"b\\c') == '"a%22b%5Cc"'
        assert lync.uri_safe("jürgen") == "j%C3%BCrgen"
        assert lync.uri_safe("a\nb]]>") == "a%0Ab%5D%5D%3E"

    def test_the_cdata_writer_splits_an_end_marker(self):
        section = lync.cdata("x]]>y")
        assert section == "<![CDATA[x]]]]><![CDATA[>y]]>"
        assert ET.fromstring(f"<a>{section}</a>").text == "x]]>y"  # noqa: S314

    def test_a_hostile_app_uri_stays_in_its_attribute(self):
        manifest = lync.compile_manifest([], app_uri='http://x/"><evil/>&')
        root, _ = parse(manifest)
        assert root.find("evil") is None
        assert unquote(root.get(f"{{{lync.NAMESPACE}}}appUri")) == 'http://x/"><evil/>&'
