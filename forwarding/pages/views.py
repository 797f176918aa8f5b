"""Forwarding pages: a person's own forwarding, an admin's people list and person pages,
history with restore, the "test my forwarding" panel and the org's audit log.

Thin: who may see what comes from `portal.access`, writes go through `services`, reads
through `selectors`, and every rule about values lives in `validation`.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forwarding.pages import delivery, member_locks, policy_views, simulator, week_view
from forwarding.pages.audit_export import AuditExportForm
from forwarding.pages.bulk_forms import BulkEditForm
from forwarding.pages.forms import (
    EventFilterForm,
    ForwardingForm,
    PeopleSearchForm,
    TestCallForm,
    zone_notes,
)
from forwarding.pages.links import person_page_url
from forwarding.pages.rule_forms import RULES_PREFIX, CallerRuleFormSet, rules_initial
from forwarding.pages.schedule_forms import ScheduleForms
from forwarding.rules import history, people_lists, previews, routing, selectors, services
from forwarding.rules.validation import LoopWarning
from portal import access, audit
from portal import services as portal_services
from portal.forms import TimeZoneForm
from portal.models import AuditEvent
from portal.timezones import person_zone, shown
from providers.capabilities import DELIVERY_WORDS

PAGE_SIZE = 50



def _context(request, person, settings, *, form, formset, conflict=False, schedules=None):
    caps = selectors.caps_for(person)
    is_self = person.user_id == request.user.id
    current = services.values(settings)
    return {
        **delivery.context(request, person, settings, caps),
        "org": person.org,
        "is_self": is_self,
        "via_partner": access.acting_partner(request.user, person),
        "description": selectors.describe(
            current, caps=caps, name=None if is_self else person.display_name
        ),
        "unsupported": [(label, reason) for _f, label, ok, reason in caps.features() if not ok],
        "missing_options": [
            (label, reason) for option, label, ok, reason in caps.options()
            if not ok and _option_matters(caps, option)
        ],
        "delivery": DELIVERY_WORDS[caps.delivery].format(label=caps.label),
        "form": form,
        "formset": formset,
        "rule_errors": getattr(formset, "service_errors", []) if formset is not None else [],
        "test_form": TestCallForm(initial={"line_state": "busy"}, zone=person_zone(person)),
        "page_url": person_page_url(request, person),
        "own_line": selectors.display(person.phone_number),
        "conflict": conflict,
        "zone_form": _zone_form(person),
        "week": week_view.build(person, is_self=is_self, settings=settings),
        "schedule_forms": schedules,
        "schedule_errors": schedules.summary() if schedules is not None else [],
        **policy_views.person_context(request, person),
        "locked_cards": member_locks.cards(form, caps),
    }


def _zone_form(person, data=None):
    return TimeZoneForm(data, initial={"time_zone": person.time_zone},
                        blank_means=person.org.time_zone)


def _option_matters(caps, option):
    # Disposition and masking only mean something where caller rules exist.
    if option in ("disposition", "masking"):
        return caps.supports("caller_rules")
    return True


def _forms(request, person, settings, caps, *, bound=True):
    current = services.values(settings)
    data = request.POST if request.method == "POST" and bound else None
    form = ForwardingForm(
        data, caps=caps, person=person,
        initial=ForwardingForm.initial_from(current, settings.version),
        locked_notes=member_locks.notes(person, member_locks.locked(request, person)),
    )
    # A post without a card's fields (an older page, a script that sets one thing) leaves
    # what that card holds as it is: no rules or schedules are wiped by omission.
    schedules = None
    if caps.supports("schedules") and (data is None or ScheduleForms.posted(data)):
        schedules = ScheduleForms(data, stored=list(settings.schedules or []))
    formset = None
    if (caps.supports("caller_rules") and data is None) or (
            data is not None and f"{RULES_PREFIX}-TOTAL_FORMS" in data):
        formset = CallerRuleFormSet(
            data, prefix=RULES_PREFIX,
            form_kwargs={"caps": caps, "region": person.org.default_region,
                         "schedule_names": schedules.names() if schedules else ()},
            initial=rules_initial(current["caller_rules"]) if data is None else None,
        )
    return form, formset, schedules


def _attach_errors(form, formset, rule_forms, exc: ValidationError, schedules=None):
    """Put each error of the service next to the field that caused it."""
    for key, errors in exc.message_dict.items():
        if schedules is not None and (key == "schedules" or key.startswith("schedules-")):
            schedules.attach(key, errors)
        elif key.startswith(f"{RULES_PREFIX}-") and rule_forms:
            _prefix, index, name = key.split("-", 2)
            # "During / outside <schedule>" is one field on the page.
            name = "schedule" if name == "schedule_when" else name
            target = rule_forms[int(index)] if int(index) < len(rule_forms) else None
            if target is not None and name in target.fields and target.shown(name):
                target.add_error(name, errors)
            elif target is not None:
                target.add_error(None, errors)
            else:
                form.add_error(None, errors)
        elif key == RULES_PREFIX or key.startswith(f"{RULES_PREFIX}-"):
            if formset is not None:
                formset.service_errors = [*getattr(formset, "service_errors", []), *errors]
            else:
                form.add_error(None, errors)
        elif key in form.fields and form.shown(key):
            form.add_error(key, errors)
        else:
            label = form.fields[key].label if key in form.fields else key
            form.add_error(None, [f"{label}: {e}" for e in errors])


def _person_page(request, person):
    settings = selectors.stored_settings(person)
    caps = selectors.caps_for(person)
    if request.method == "POST":
        if access.needs_mfa(request.user, person):
            return access.require_mfa(request, person_page_url(request, person))
        return _save(request, person, settings, caps)
    form, formset, schedules = _forms(request, person, settings, caps)
    return render(request, "forwarding/person.html",
                  _context(request, person, settings, form=form, formset=formset,
                           schedules=schedules))


def _save(request, person, settings, caps):
    form, formset, schedules = _forms(request, person, settings, caps)
    valid = form.is_valid()
    if schedules is not None and not schedules.is_valid():
        valid = False
    rules, rule_forms = None, []
    if formset is not None:
        if formset.is_valid():
            rules, rule_forms = formset.rules()
        else:
            valid = False
    if not valid:
        return _render_error(request, person, settings, form, formset, status=400,
                             schedules=schedules)
    changes = form.changes()
    if schedules is not None:
        changes["schedules"] = schedules.schedules()

    actor = audit.actor_from_request(
        request, via_partner=access.acting_partner(request.user, person)
    )
    try:
        saved = services.forwarding_update(
            person=person, changes=changes,
            expected_version=form.cleaned_data["version"], actor=actor, caller_rules=rules,
            confirm_loops=request.POST.get("confirm_loops") == "yes",
        )
    except services.StaleVersion as exc:
        # Keep what they typed, show the current settings above it and the new version
        # in the form: sending again is then a deliberate choice, not a silent overwrite.
        form.data = form.data.copy()
        form.data["version"] = exc.current_version
        messages.error(request, exc.message)
        fresh = selectors.stored_settings(person)
        return _render_error(request, person, fresh, form, formset, status=409, conflict=True,
                             schedules=schedules)
    except ValidationError as exc:
        # A LoopWarning is shown next to its field like an error, with a "forward anyway"
        # box that sends the same form again, confirmed.
        _attach_errors(form, formset, rule_forms, exc, schedules)
        return _render_error(request, person, settings, form, formset, status=400,
                             loop_warning=isinstance(exc, LoopWarning), schedules=schedules)

    for note in zone_notes(form):
        messages.info(request, note)
    if saved.version == form.cleaned_data["version"]:
        messages.info(request, "Nothing changed: these settings were already in force.")
    else:
        messages.success(request, f"Saved as version {saved.version}. "
                         f"The change is {DELIVERY_WORDS[caps.delivery].format(label=caps.label)}.")
    return redirect(person_page_url(request, person))


def _render_error(request, person, settings, form, formset, *, status, conflict=False,
                  loop_warning=False, schedules=None):
    context = _context(request, person, settings, form=form, formset=formset,
                       conflict=conflict, schedules=schedules)
    context["loop_warning"] = loop_warning
    return render(request, "forwarding/person.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def my_forwarding(request):
    own = request.user.people.order_by("id").only("id").first()
    if own is None:
        raise Http404("Your account is not linked to a phone line")
    return _person_page(request, access.person_for(request.user, own.pk))


@login_required
@require_http_methods(["GET", "POST"])
def person_forwarding(request, person_id):
    return _person_page(request, access.person_for(request.user, person_id))


@login_required
@require_POST
def person_time_zone(request, person_id):
    """The zone a person enters and reads times in: theirs to set, or their admins'."""
    person = access.person_for(request.user, person_id)
    if access.needs_mfa(request.user, person):
        return access.require_mfa(request, person_page_url(request, person))
    form = _zone_form(person, request.POST)
    if form.is_valid():
        actor = audit.actor_from_request(
            request, via_partner=access.acting_partner(request.user, person))
        try:
            person = portal_services.person_time_zone_update(
                person=person, time_zone=form.cleaned_data["time_zone"], actor=actor)
        except ValidationError as exc:
            form.add_error("time_zone", exc.message_dict.get("time_zone", exc.messages))
        else:
            messages.success(request, f"Times on this page are now in {person.zone_name}.")
            return redirect(person_page_url(request, person))
    settings = selectors.stored_settings(person)
    page_form, formset, schedules = _forms(request, person, settings,
                                           selectors.caps_for(person), bound=False)
    context = _context(request, person, settings, form=page_form, formset=formset,
                       schedules=schedules)
    context["zone_form"] = form
    return render(request, "forwarding/person.html", context, status=400)


# --- people list -----------------------------------------------------------------------------


@login_required
@require_GET
def org_people(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    return people_page(request, org, via, params=request.GET)


def people_page(request, org, via, *, params, bulk_form=None, status=200):
    """The people list of `org` (search `q` and `page` from `params`) with its bulk edit
    form; `bulk_form` is a bound one coming back with its errors and ticks."""
    search = PeopleSearchForm({"q": params["q"]} if params.get("q") else None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    # Counts stop early: "About 200,000 people", "More than 1,000 matches".
    page = people_lists.EstimatingPaginator(people_lists.people_list(org, query=query), PAGE_SIZE,
                                         estimate=not query).get_page(params.get("page"))
    caps = selectors.caps_for_org(org)
    bulk_form = bulk_form or BulkEditForm(caps=caps)
    ticked = bulk_form.ticked
    rows = []
    for person in page.object_list:
        settings = getattr(person, "forwarding", None)
        rows.append({
            "person": person,
            "number": selectors.display(person.phone_number),
            "summary": selectors.short_summary(settings, caps),
            "sync": selectors.sync_view(settings, caps),
            "ticked": person.id in ticked,
        })
    shown = {row["person"].id for row in rows}
    if params.get("q") and not search.is_valid():
        status = 400
    return render(request, "forwarding/people.html", {
        "org": org, "via_partner": via, "search": search, "query": query, "page": page,
        "rows": rows, "caps": caps, "bulk_form": bulk_form,
        "ticked_elsewhere": sorted(ticked - shown),
    }, status=status)


# --- history and restore ---------------------------------------------------------------------


def _event_filters(request, codes):
    form = EventFilterForm(request.GET or None, codes=codes)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        return form, {"event": data.get("event") or None, "since": data.get("since"),
                      "until": data.get("until")}
    return form, {}


def _history(request, person, *, status=200):
    caps = selectors.caps_for(person)
    base = selectors.person_events(person)
    filters_form, filters = _event_filters(request, selectors.event_codes(base))
    events = history.visible_events(selectors.person_events(person, **filters),
                                    event=filters.get("event"))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    settings = selectors.stored_settings(person)
    is_self = person.user_id == request.user.id
    return render(request, "forwarding/history.html", {
        "person": person,
        "org": person.org,
        "is_self": is_self,
        "via_partner": access.acting_partner(request.user, person),
        "read_only": access.needs_mfa(request.user, person),
        "settings": settings,
        "filters": filters_form,
        "page": page,
        "rows": history.rows_for(
            page.object_list, caps=caps, zone=timezone.get_current_timezone(),
            name=None if is_self else person.display_name,
            restorable=lambda e: services.restorable_snapshot(e, person) is not None),
        "page_url": person_page_url(request, person),
    }, status=status if not filters_form.errors else 400)


@login_required
@require_GET
def person_history(request, person_id):
    return _history(request, access.person_for(request.user, person_id))


@login_required
@require_http_methods(["GET", "POST"])
def person_restore(request, person_id):
    """GET: what restoring the version of `event` would change, and a button to confirm.
    POST: the restore."""
    person = access.person_for(request.user, person_id)
    if access.needs_mfa(request.user, person):
        return access.require_mfa(request, reverse("person_history", args=[person.id]))
    try:
        event_id = int(request.POST.get("event", "") if request.method == "POST"
                       else request.GET.get("event", ""))
    except ValueError:
        raise Http404("No such event") from None
    event = get_object_or_404(AuditEvent, pk=event_id, person=person)
    if request.method == "GET":
        return _restore_confirm(request, person, event)
    try:
        expected = int(request.POST.get("version", ""))
    except ValueError:
        expected = -1
    actor = audit.actor_from_request(
        request, via_partner=access.acting_partner(request.user, person)
    )
    try:
        saved = services.forwarding_restore(
            person=person, event=event, expected_version=expected, actor=actor,
            confirm_loops=request.POST.get("confirm_loops") == "yes",
        )
    except LoopWarning:
        # Not confirmed (or the loop appeared since the preview): the confirmation page
        # again, now naming the loop, with the box to tick.
        return _restore_confirm(request, person, event, status=400, unconfirmed=True)
    except services.StaleVersion as exc:
        messages.error(request, exc.message)
        return _history(request, person, status=409)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, f"Could not restore: {message}")
        return _history(request, person, status=400)
    if saved.version == expected:
        messages.info(request, "Nothing changed: those settings are already in force.")
    else:
        messages.success(request, f"Restored the settings of version {event.new['version']} "
                         f"as the new version {saved.version}.")
    return redirect(person_page_url(request, person))


def _restore_confirm(request, person, event, *, status=200, unconfirmed=False):
    snap = services.restorable_snapshot(event, person)
    if snap is None:
        raise Http404("This event holds no settings to restore")
    return render(request, "forwarding/restore_confirm.html", {
        "unconfirmed": unconfirmed,
        "person": person, "org": person.org, "event": event, "version": snap["version"],
        "is_self": person.user_id == request.user.id,
        "via_partner": access.acting_partner(request.user, person),
        "preview": previews.restore_preview(person, snap,
                                            locked=member_locks.locked(request, person)),
        "page_url": person_page_url(request, person),
    }, status=status)


# --- test my forwarding --------------------------------------------------------------------


@login_required
@require_GET
def person_test(request, person_id):
    person = access.person_for(request.user, person_id)
    zone = person_zone(person)
    form = TestCallForm(request.GET or None, initial={"line_state": "busy"},
                        region=person.org.default_region, zone=zone)
    result, status, asked = None, 200, {}
    if form.is_bound:
        if form.is_valid():
            at = form.cleaned_data["at"] or timezone.now()
            caller = form.cleaned_data["caller"] or None
            state = form.cleaned_data["line_state"]
            decision = routing.decide(routing.rules_for(person), caller=caller, at=at,
                                      line_state=state)
            result = simulator.outcome(decision, state)
            # The answer speaks on the person's wall clock, like the form it came from.
            asked = {"caller": caller, "at": shown(at, zone), "note": zone_notes(form),
                     "state": routing.LINE_STATE_LABELS[state]}
        else:
            status = 400
    return render(request, "forwarding/test.html", {
        "person": person,
        "org": person.org,
        "is_self": person.user_id == request.user.id,
        "via_partner": access.acting_partner(request.user, person),
        "form": form,
        "result": result,
        "asked": asked,
        "page_url": person_page_url(request, person),
    }, status=status)


# --- the org's audit log ---------------------------------------------------------------------


@login_required
@require_GET
def org_audit(request, org_id):
    org, via = access.admin_org_or_404(request.user, org_id)
    base = selectors.org_events(org)
    filters_form, filters = _event_filters(request, selectors.event_codes(base))
    events = history.visible_events(selectors.org_events(org, **filters),
                                    event=filters.get("event"))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    caps = selectors.caps_for_org(org)
    return render(request, "forwarding/org_audit.html", {
        "org": org,
        "via_partner": via,
        "filters": filters_form,
        "page": page,
        "rows": history.rows_for(page.object_list, caps=caps,
                                 zone=timezone.get_current_timezone(),
                                 use_person_label=True),
        "export_form": AuditExportForm(),
    }, status=400 if filters_form.errors else 200)

