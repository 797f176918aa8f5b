"""The one answer to "who in this org is behind this destination?".

Every part of the portal that turns a destination into a person asks here: the loop check
of an edit (forwarding.rules.loops.find_loops, through a `LineIndex`), the Graph bot when
it rings a colleague's Teams identity and the Lync manifest when it dials a colleague by
SIP URI (`people_behind`). They all find a person the same way:

- a destination is compared by its key (providers.addresses.destination_key) with the keys
  of a person's lines (keys_of_lines: numbers in E.164 read in the org's region, SIP URIs
  in lower case without parameters);
- on PostgreSQL only the people who may be behind the keys asked for are read, with an
  indexed equality on the three line columns. That relies on lines being stored in the
  form they match under (Person.save stores numbers and extensions that way, see
  providers.addresses.stored_line; SIP URIs are compared through
  portal.models.tenancy.sip_line_key, the same normalisation in SQL) and on
  `_stored_forms` for national digits; every person the query returns is checked again
  with keys_of_lines, so the lookup never matches more than the full normalisation would.
  Elsewhere (the zero-setup SQLite demo, whose orgs are small) the whole org is read;
- when several people share a line, the first by (display name, id) is the one a
  destination reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import phonenumbers
from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection, connections
from django.db.models import OuterRef, Q

from forwarding.models import CallerRule
from portal.models import Person
from portal.models.tenancy import sip_line_key
from providers.addresses import destination_key, keys_of_lines

# When several people share a line, the first in this order is the one a destination
# reaches (the order the former whole-org index was built in).
PERSON_ORDER = ("display_name", "id")
LINE_FIELDS = ("phone_number", "extension", "sip_uri")
# The forwarding that sends calls on only in a condition of the line, in the order a
# warning names them: busy, not answered, offline.
CONDITIONS = ("busy", "no_answer", "continuity")

# A walk longer than this many steps (one query each) loads the rest of the org at once:
# past that point one query for everybody is cheaper than one more query per step.
MAX_WALK_STEPS = 25


# --- finding people ------------------------------------------------------------------------


def _indexed_lookup() -> bool:
    """Whether the database can run the targeted lookup (it uses PostgreSQL functions)."""
    return connection.vendor == "postgresql"


def _stored_forms(key: str, region: str) -> set[str]:
    """What a phone number or extension column may hold for a person reached under `key`:
    the key itself, and for a number of the org's own country its national digits with
    and without the trunk prefix ("2025550100", "12025550100"; "02079460000" in GB), which
    is how an extension or a number written around Person.save() may read."""
    forms = {key}
    if not key.startswith("+"):
        return forms
    try:
        number = phonenumbers.parse(key, None)
    except phonenumbers.NumberParseException:
        return forms
    if number.country_code != phonenumbers.country_code_for_region(region):
        return forms
    national = phonenumbers.national_significant_number(number)
    forms |= {national, key[1:]}
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if metadata is not None and metadata.national_prefix:
        forms.add(metadata.national_prefix + national)
    return forms


def _plain_forms(keys: set, region: str) -> list[str]:
    """Every stored form of the keys that are not SIP URIs, sorted."""
    plain = set()
    for key in keys:
        if not key.startswith("sip:"):
            plain |= _stored_forms(key, region)
    return sorted(plain)


def _condition(keys: set, region: str) -> Q:
    """People whose stored lines equal one of `keys` in their stored form: an OR over the
    three indexed columns."""
    return _lookup(sorted(keys), _plain_forms(keys, region))


def _lookup(keys: list, plain: list) -> Q:
    condition = Q(sip_key__in=keys)  # also a number typed into the SIP column
    if plain:
        condition |= Q(phone_number__in=plain) | Q(extension__in=plain)
    return condition


def _candidates(org_id: int, keys: set | None, region: str):
    """The people of the org who may be behind `keys` (None: everybody), in PERSON_ORDER.
    Without the targeted lookup this is the whole org; callers check every row anyway."""
    people = Person.objects.filter(org_id=org_id)
    if keys is not None and _indexed_lookup():
        # alias, not annotate: the key is only compared, never read back.
        people = people.alias(sip_key=sip_line_key()).filter(_condition(keys, region))
    return people.order_by(*PERSON_ORDER)


def _claim(found: dict, lines, region: str, wanted: set | None, owner) -> None:
    """Record `owner` behind each key of `lines` that nobody earlier in PERSON_ORDER holds.
    Only the keys in `wanted` (None: all): a key this row merely also has may belong to
    somebody earlier in the order who did not match this query."""
    for key in keys_of_lines(lines, region):
        if wanted is None or key in wanted:
            found.setdefault(key, owner)


# What people_behind reads of each person, in the model's field order (Model.from_db
# takes a subset of fields in that order).
_BEHIND_FIELDS = tuple(f.attname for f in Person._meta.concrete_fields
                       if f.attname in {"id", "display_name", *LINE_FIELDS, "provider_person_id"})
_ORG_MARK = -7_000_000_001  # stand-ins for the values, found again among the parameters


def _key_mark(kind: str, n: int) -> str:
    return f"\x00{kind}{n}\x00"


@lru_cache(maxsize=64)
def _targeted_sql(keys: int, forms: int, using: str):
    """people_behind's targeted lookup for `keys` keys and `forms` stored forms, compiled
    once per process and shape: (SQL, for each parameter its stand-in's place or None
    for a constant of the statement). The Graph bot asks this for every call that rings a
    colleague, and the ORM compiled it in about a millisecond of CPU per call."""
    sip = [_key_mark("k", n) for n in range(keys)]
    plain = [_key_mark("f", n) for n in range(forms)]
    people = (Person.objects.using(using).filter(org_id=_ORG_MARK)
              .alias(sip_key=sip_line_key()).filter(_lookup(sip, plain))
              .order_by(*PERSON_ORDER).values_list(*_BEHIND_FIELDS))
    sql, params = people.query.sql_with_params()
    marks = {_ORG_MARK: ("org", 0), **{m: ("k", n) for n, m in enumerate(sip)},
             **{m: ("f", n) for n, m in enumerate(plain)}}
    places = tuple(marks.get(p) if isinstance(p, int | str) else None for p in params)
    if sum(place is not None for place in places) != 1 + keys + 2 * forms:
        raise AssertionError("the directory's compiled lookup lost a parameter")
    return sql, places, tuple(params)


def _targeted(org_id: int, keys: set, region: str, using: str = "default") -> list:
    """The people of the org who may be behind `keys`, in PERSON_ORDER (PostgreSQL): the
    same query as _candidates, without compiling it each time."""
    sip, plain = sorted(keys), _plain_forms(keys, region)
    sql, places, constants = _targeted_sql(len(sip), len(plain), using)
    values = {"org": [org_id], "k": sip, "f": plain}
    params = [constant if place is None else values[place[0]][place[1]]
              for place, constant in zip(places, constants, strict=True)]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Person.from_db(using, _BEHIND_FIELDS, row) for row in rows]


def people_behind(org, destinations, *, region: str | None = None,
                  whole_org: bool = False) -> dict:
    """Destination -> the Person of `org` it reaches, for each of `destinations` that
    reaches one (one query; none without a destination). The people come with their
    names, lines and provider person ids loaded.

    `whole_org`: read every person of the org and match them in Python, for a caller that
    covers the whole org anyway (the Lync manifest); it also finds a line written around
    Person.save() in a form the indexed lookup cannot see."""
    region = region or org.default_region
    wanted = {destination_key(d) for d in destinations if d}
    if not wanted:
        return {}
    if not whole_org and _indexed_lookup():
        people = _targeted(org.pk, wanted, region, Person.objects.db)
    else:
        people = _candidates(org.pk, None if whole_org else wanted, region).only(
            "id", "display_name", *LINE_FIELDS, "provider_person_id")
    by_key: dict = {}
    for person in people:
        _claim(by_key, person.lines(), region, wanted, person)
    return {d: by_key[destination_key(d)] for d in destinations
            if d and destination_key(d) in by_key}


# --- the loop check's index: people and where they forward --------------------------------


@dataclass
class _Reached:
    """A person of the org as the loop walk sees them: a name and their stored edges."""

    name: str
    always: str  # the always-forward destination while it is on, else ""
    window: str  # the time window's destination while it is on, else ""
    window_end: datetime | None
    rules: list  # caller rule destinations, in rule order
    # (condition, destination) of busy, no answer and offline forwarding that can fire:
    # on, with a destination, and always-forward off (which takes precedence).
    conditional: list = field(default_factory=list)

    def targets(self, now: datetime) -> list[str]:
        """Where their stored settings send every (or some) call: always-forward, a time
        window that is running or yet to come, caller rules."""
        targets = [self.always] if self.always else []
        if self.window and self.window_end is not None and self.window_end > now:
            targets.append(self.window)
        targets.extend(self.rules)
        return targets


# What a LineIndex reads of each person: who they are, their lines and their edges.
_INDEX_COLUMNS = (
    "id", "display_name", *LINE_FIELDS,
    "forwarding__always_enabled", "forwarding__always_destination",
    "forwarding__window_enabled", "forwarding__window_destination",
    "forwarding__window_end",
    *(f"forwarding__{condition}_{part}" for condition in CONDITIONS
      for part in ("enabled", "destination")),
)


class LineIndex:
    """Who in one org answers a destination key, and where those people forward to.

    Loaded on demand: `resolve` looks up only the keys it is given, with one query that
    also brings each person's stored edges, so a loop check costs one query per step of
    its walk whatever the size of the org. Pass one index to several `validate_proposal`
    calls of the same org (a bulk job) to share what it has loaded, `preload=True` to load
    the whole org in one go instead, and call `note_saved` after each row you save so the
    edges stay current. It does not see people added or re-numbered after it loaded them.
    People are found as the module docstring says."""

    def __init__(self, org, *, region: str | None = None, preload: bool = False):
        self.org_id = org.pk
        self.region = region or org.default_region
        self.complete = False  # every person of the org is loaded
        self._person_of: dict[str, int | None] = {}  # key -> person id, None: nobody
        self._reached: dict[int, _Reached] = {}
        if preload:
            self.load_all()

    # --- lookups -----------------------------------------------------------------------

    def person_for(self, key: str) -> int | None:
        """The id of the person behind an already resolved key."""
        return self._person_of.get(key)

    def name(self, person_id: int) -> str:
        reached = self._reached.get(person_id)
        return reached.name if reached is not None else f"person {person_id}"

    def targets(self, person_id: int, now: datetime) -> list[str]:
        reached = self._reached.get(person_id)
        return reached.targets(now) if reached is not None else []

    def conditional_targets(self, person_id: int) -> list[tuple[str, str]]:
        """(condition, destination) of the person's busy, no answer and offline
        forwarding that can fire (see _Reached.conditional)."""
        reached = self._reached.get(person_id)
        return list(reached.conditional) if reached is not None else []

    def resolve(self, keys) -> None:
        """Find the people behind `keys` (destination keys) not looked up yet: one query,
        none when every key is known already."""
        wanted = {key for key in keys if key and key not in self._person_of}
        if not wanted:
            return
        if not self.complete:
            self._load(wanted)
        for key in wanted:
            self._person_of.setdefault(key, None)

    def load_all(self) -> None:
        """Load every person of the org (a bulk job, or a very long walk)."""
        if not self.complete:
            self._load(None)

    def note_saved(self, person_id: int, values: dict) -> None:
        """After saving `person_id`'s settings (`values` as forwarding.rules.services.values
        gives them, caller rules included), so later checks see the new edges."""
        reached = self._reached.get(person_id)
        if reached is not None:
            self._reached[person_id] = _reached(reached.name, values)

    # --- loading -----------------------------------------------------------------------

    def _load(self, wanted: set | None) -> None:
        """The people behind `wanted` (None: everybody) with their edges. Without the
        targeted lookup the whole org is loaded at once, whatever was asked."""
        if _indexed_lookup():
            rows = self._rows_with_rules(wanted)
        else:
            rows, wanted = self._rows_then_rules(), None
        for row in rows:
            person_id, name, phone, extension, sip = row[:5]
            values = dict(zip(_INDEX_COLUMNS[5:], row[5:-1], strict=True))
            values = {column.removeprefix("forwarding__"): value
                      for column, value in values.items()}
            values["caller_rules"] = [{"destination": d} for d in row[-1] or ()]
            self._reached.setdefault(person_id, _reached(name, values))
            _claim(self._person_of, (phone, extension, sip), self.region, wanted, person_id)
        if wanted is None:
            self.complete = True

    def _rows_with_rules(self, wanted: set | None):
        """One query: the people and, per person, their caller rules' destinations."""
        rules = (
            CallerRule.objects.filter(settings__person=OuterRef("pk"))
            .order_by("position").values("destination")
        )
        return (
            _candidates(self.org_id, wanted, self.region)
            .annotate(rule_destinations=ArraySubquery(rules))
            .values_list(*_INDEX_COLUMNS, "rule_destinations")
        )

    def _rows_then_rules(self):
        """The whole org in two queries, for databases without array subqueries."""
        rules: dict[int, list[str]] = {}
        for person_id, destination in (
            CallerRule.objects.filter(settings__person__org_id=self.org_id)
            .order_by("settings__person_id", "position")
            .values_list("settings__person_id", "destination")
        ):
            rules.setdefault(person_id, []).append(destination)
        people = _candidates(self.org_id, None, self.region).values_list(*_INDEX_COLUMNS)
        return [(*row, rules.get(row[0], [])) for row in people]


def _reached(name: str, values: dict) -> _Reached:
    always = values["always_destination"] if values.get("always_enabled") else ""
    return _Reached(
        name=name,
        always=always or "",
        window=(values.get("window_destination") or "") if values.get("window_enabled")
        and values.get("window_end") else "",
        window_end=values.get("window_end"),
        rules=[rule["destination"] for rule in values.get("caller_rules", ())],
        conditional=[] if always else [
            (condition, values[f"{condition}_destination"]) for condition in CONDITIONS
            if values.get(f"{condition}_enabled") and values.get(f"{condition}_destination")],
    )
