"""Every write of the call engine: calls and their lifecycle, responses, questions, complaints, qualifications.

Deadlines are judged by the database's clock (`database_now`), never by a web or worker process's clock, and a
close or an award attempted before its stored deadline is refused. The scheduler (calls/jobs.py → `calls_tick`)
only nudges: it looks in the database for calls whose deadline has passed, so it holds across restarts.

Sealed calls (sourcing): before the deadline nothing about their responses is recorded where anyone else can read it —
no event in the log, no notification, no count; the respondent gets a receipt (sha256) in the answer instead.

The kinds' hooks (calls.kinds.registry[kind], engineer B) are called with keyword arguments, each optional:
    sealed: bool                                   owner_picks: bool (the owner selects; else the top ranked wins)
    validate_call(*, call) -> None                 eligible(*, call, person, organisation) -> bool | None (or raise)
    validate_response(*, call, content, person, organisation) -> dict | None (the cleaned content; or raise)
    seal(*, call, content) -> bytes                unseal(*, call, response) -> dict
    evaluate(*, call) -> list[Response]            ranked best first, `score` set where the method scores
    award(*, call, response, actor) -> None        the award's effects (rewards, tranches, …)
"""

import hashlib
import json
import logging
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import MANAGING_ROLES, Membership, Organisation, OrganisationKind, Role, User
from makercloud.calls.errors import (
    AlreadyApplied,
    AlreadyResponded,
    CallNotDue,
    ComplaintDecided,
    ComplaintsPending,
    DeadlinePassed,
    InvalidCall,
    InvalidTimeline,
    NotCallOwner,
    NotEligible,
    NotOperator,
    NotParticipant,
    WrongCallState,
    WrongQualificationState,
    WrongResponseState,
)
from makercloud.calls.kinds.base import web_address
from makercloud.calls.models.engine import (
    VALID_RESPONSE_STATES,
    Answer,
    Call,
    CallKind,
    CallState,
    Complaint,
    ComplaintRemedy,
    ComplaintState,
    QualificationState,
    Question,
    Response,
    ResponseState,
    SupplierQualification,
)
from makercloud.core.errors import InvalidInput
from makercloud.core.events import record_event
from makercloud.notifications.services import notify

logger = logging.getLogger(__name__)

TERMS = ("eligibility", "response_form", "selection", "questions_until", "responses_until", "standstill_days")
REMINDER_BEFORE = timedelta(hours=24)
FANOUT_AT = 25  # more people than this are notified by a job after the commit
MAX_JSON = 100_000  # characters of a call's or response's JSON


# The clock -------------------------------------------------------------------------------------------------------


def database_now() -> datetime:
    """The database's current time. Deadlines are compared with it, so no process with a fast clock closes early.

    SQLite gives milliseconds, truncated: a deadline is then judged up to a millisecond late, never early."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
            (text,) = cursor.fetchone()
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        cursor.execute("SELECT CURRENT_TIMESTAMP")
        (value,) = cursor.fetchone()
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)
    return value


# The kinds' hooks ------------------------------------------------------------------------------------------------


def _hook(call: Call, name: str) -> Any:
    from makercloud.calls.kinds import registry

    kind = registry.get(call.kind)
    return getattr(kind, name, None) if kind is not None else None


def kind_is_sealed(kind: str) -> bool:
    from makercloud.calls.kinds import registry

    hooks = registry.get(kind)
    sealed = getattr(hooks, "sealed", None)
    return bool(sealed) if sealed is not None else kind == CallKind.SOURCING


def owner_picks(call: Call) -> bool:
    """Whether the owner selects the winner (with a published reason) rather than the top ranked winning."""
    method = (call.selection or {}).get("method")
    if method in {"owner", "formula", "score", "ranking"}:
        return method == "owner"
    picks = _hook(call, "owner_picks")
    if picks is not None:
        return bool(picks)
    return call.kind != CallKind.SOURCING


def rules_hash(call: Call) -> str:
    """sha256 of the published rules (Call.rules()), canonical JSON: anyone can recompute it from GET /calls/{id}."""
    text = json.dumps(call.rules(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# Who may do what -------------------------------------------------------------------------------------------------


def can_manage_call(*, person: User | None, call: Call) -> bool:
    if person is None or not person.is_authenticated:
        return False
    return accounts_selectors.can_manage(person=person, organisation=call.owner)


def ensure_can_manage_call(*, person: User, call: Call) -> None:
    if not can_manage_call(person=person, call=call):
        raise NotCallOwner()


def ensure_operator(*, person: User) -> None:
    if not accounts_selectors.is_operator(person=person):
        raise NotOperator()


def _lock(call: Call) -> Call:
    return Call.objects.select_for_update().get(pk=call.pk)


def _managers(organisation: Organisation | int) -> list[User]:
    return list(User.objects.filter(
        memberships__organisation=organisation, memberships__role__in=MANAGING_ROLES, is_active=True
    ).distinct())


def _operators() -> list[User]:
    return list(User.objects.filter(
        memberships__organisation__kind=OrganisationKind.PLATFORM, memberships__role=Role.OPERATOR, is_active=True
    ).distinct())


def _respondents(call: Call, states: Iterable[str] | None = None) -> list[User]:
    responses = Response.objects.filter(call=call).exclude(state=ResponseState.WITHDRAWN)
    if states is not None:
        responses = responses.filter(state__in=list(states))
    return list(User.objects.filter(pk__in=responses.values("respondent_id")))


def _call_url(call: Call) -> str:
    return reverse("calls:detail", args=[call.pk])


def _tell(people: Iterable[User], *, title: str, body: str = "", url: str = "", key: str = "") -> None:
    """Notify each person once. Many people (a call's respondents) are notified by a job after the commit, so that a
    close or an award of a call with thousands of responses stays quick."""
    unique = list({person.pk: person for person in people}.values())
    if len(unique) > FANOUT_AT:
        from makercloud.calls.jobs import calls_notify

        ids = [person.pk for person in unique]
        transaction.on_commit(lambda: calls_notify(ids, title, body, url, key))
        return
    for person in unique:
        notify(person=person, title=title, body=body, url=url, key=key)


def notify_each(*, person_ids: list[int], title: str, body: str, url: str, key: str) -> int:
    """The job's half of `_tell`: idempotent by key, so a retried job notifies nobody twice."""
    people = User.objects.filter(pk__in=person_ids, is_active=True)
    for person in people:
        notify(person=person, title=title, body=body, url=url, key=key)
    return len(people)


def _event(call: Call, kind: str, *, actor: User | None, public: bool = True, **data: Any) -> None:
    record_event(actor=actor, subject=call, kind=kind, organisation=call.owner, public=public, data=data)


def _json(value: Any, *, field: str, kind: type = dict) -> Any:
    if not isinstance(value, kind):
        raise InvalidCall(detail=_("%(field)s must be a JSON %(type)s.") % {
            "field": field, "type": "object" if kind is dict else "list"})
    if len(json.dumps(value, default=str)) > MAX_JSON:
        raise InvalidCall(detail=_("%(field)s is too long.") % {"field": field})
    return value


MAX_LINKS = 20


def _links(value: Any, *, field: str) -> list[dict[str, str]]:
    """Attachments, evidence, documents: a list of {"name", "url"} whose every url is an http(s) address with a host
    (`web_address`), so that no `javascript:` or `data:` link is stored — and shown as a link — whichever way it came
    in (the API, the pages, the admin). Returns the links with only their name and url."""
    _json(value, field=field, kind=list)
    if len(value) > MAX_LINKS:
        raise InvalidCall(detail=_("%(field)s holds at most %(count)s links.") % {"field": field, "count": MAX_LINKS})
    cleaned = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > 200 or "\x00" in name:
            raise InvalidCall(detail=_('Each link in %(field)s needs a name: {"name": "…", "url": "https://…"}.')
                              % {"field": field})
        if not web_address(item.get("url")):
            raise InvalidCall(detail=_("Each link in %(field)s must be an http(s) address with a host, such as "
                                       "https://example.com/drawing.pdf.") % {"field": field})
        cleaned.append({"name": name.strip(), "url": item["url"]})
    return cleaned


def _check_timeline(call: Call, *, now: datetime) -> None:
    if call.responses_until is None:
        raise InvalidTimeline(detail=_("A call needs a deadline for responses."))
    if call.responses_until <= now:
        raise InvalidTimeline(detail=_("The deadline for responses must be in the future."))
    if call.questions_until is not None and call.questions_until > call.responses_until:
        raise InvalidTimeline(detail=_("Questions must close no later than responses."))
    if call.standstill_days > 60:
        raise InvalidTimeline(detail=_("The standstill is at most 60 days."))


# Calls -----------------------------------------------------------------------------------------------------------


@transaction.atomic
def call_create(
    *,
    actor: User,
    owner: Organisation,
    kind: str,
    title: str,
    description: str = "",
    attachments: list[Any] | None = None,
    eligibility: dict[str, Any] | None = None,
    response_form: dict[str, Any] | None = None,
    selection: dict[str, Any] | None = None,
    questions_until: datetime | None = None,
    responses_until: datetime | None = None,
    standstill_days: int = 5,
) -> Call:
    """A draft call of a venture (or of the platform, by operators). Nothing is public until it is published."""
    if kind not in CallKind.values:
        raise InvalidCall(detail=_("Unknown kind of call."))
    if owner.kind not in {OrganisationKind.VENTURE, OrganisationKind.PLATFORM}:
        raise InvalidCall(detail=_("Calls are posted by a venture or by the platform."))
    if not accounts_selectors.can_manage(person=actor, organisation=owner):
        raise NotCallOwner(detail=_("Only the organisation's owners and administrators may post its calls."))
    return draft_create(actor=actor, owner=owner, kind=kind, title=title, description=description,
                        attachments=attachments, eligibility=eligibility, response_form=response_form,
                        selection=selection, questions_until=questions_until, responses_until=responses_until,
                        standstill_days=standstill_days)


def draft_create(
    *,
    actor: User,
    owner: Organisation,
    kind: str,
    title: str,
    description: str = "",
    attachments: list[Any] | None = None,
    eligibility: dict[str, Any] | None = None,
    response_form: dict[str, Any] | None = None,
    selection: dict[str, Any] | None = None,
    questions_until: datetime | None = None,
    responses_until: datetime | None = None,
    standstill_days: int = 5,
) -> Call:
    """The draft itself, its input checked, once the caller has checked who may post it (`call_create`: the owner's
    managers; `kinds.idea_post`: any verified person, for the platform). `created_by` is the actor."""
    if not title.strip():
        raise InvalidCall(detail=_("A call needs a title."))
    call = Call(
        kind=kind, owner=owner, created_by=actor, title=title.strip()[:200], description=description.strip(),
        attachments=_links(attachments or [], field="attachments"),
        eligibility=_json(eligibility or {}, field="eligibility"),
        response_form=_json(response_form or {}, field="response_form"),
        selection=_json(selection or {}, field="selection"),
        questions_until=questions_until, responses_until=responses_until, standstill_days=standstill_days,
        sealed=kind_is_sealed(kind),
    )
    if standstill_days < 0 or standstill_days > 60:
        raise InvalidTimeline(detail=_("The standstill is at most 60 days."))
    call.save()
    _event(call, "call.created", actor=actor, public=False, call_kind=kind)
    return call


@transaction.atomic
def call_update(*, actor: User, call: Call, **changes: Any) -> Call:
    """Change a call. A draft changes freely. An open call's title, description and attachments change without
    consequence; a change to its terms (eligibility, form, selection, timeline) is an amendment: allowed only before
    the deadline, it publishes a new rules_hash and terms_version, invalidates every response and asks each
    respondent to confirm again."""
    call = _lock(call)
    ensure_can_manage_call(person=actor, call=call)
    changes = {name: value for name, value in changes.items() if value is not None}
    unknown = set(changes) - {*TERMS, "title", "description", "attachments"}
    if unknown:
        raise InvalidInput(detail=f"Unknown fields: {', '.join(sorted(unknown))}")
    if call.state not in {CallState.DRAFT, CallState.OPEN}:
        raise WrongCallState(detail=_("Only a draft or open call can be changed."))
    now = database_now()
    if call.state == CallState.OPEN and call.responses_until is not None and now >= call.responses_until:
        raise DeadlinePassed(detail=_("The deadline has passed: the terms can no longer change."))
    if "title" in changes and not str(changes["title"]).strip():
        raise InvalidCall(detail=_("A call needs a title."))
    for field in ("eligibility", "response_form", "selection"):
        if field in changes:
            _json(changes[field], field=field)
    if "attachments" in changes:
        changes["attachments"] = _links(changes["attachments"], field="attachments")
    changed_terms = sorted(name for name in TERMS if name in changes and changes[name] != getattr(call, name))
    for name, value in changes.items():
        setattr(call, name, value.strip() if isinstance(value, str) else value)
    if call.state == CallState.DRAFT:
        if call.standstill_days > 60:
            raise InvalidTimeline(detail=_("The standstill is at most 60 days."))
        call.save()
        return call
    _check_timeline(call, now=now)
    if not changed_terms:
        call.save()
        _event(call, "call.edited", actor=actor, fields=sorted(changes))
        return call
    validate = _hook(call, "validate_call")
    if validate is not None:
        validate(call=call)
    call.terms_version += 1
    call.rules_hash = rules_hash(call)
    call.reminded_at = None
    call.save()
    invalidated = list(Response.objects.select_for_update().filter(call=call, state__in=VALID_RESPONSE_STATES))
    for response in invalidated:
        response.invalidate()
        response.save(update_fields=["state", "updated_at"])
    data: dict[str, Any] = {"terms_version": call.terms_version, "rules_hash": call.rules_hash, "terms": changed_terms}
    if not call.sealed:
        data["responses_to_confirm"] = len(invalidated)
    _event(call, "call.amended", actor=actor, **data)
    invalidated_by = [response.respondent for response in Response.objects.filter(
        call=call, state=ResponseState.INVALIDATED).select_related("respondent")]
    _tell(_audience(call, invalidated_by),
          title=_("The terms of “%(title)s” changed: confirm your response again") % {"title": call.title},
          body=_("The call's terms are now version %(version)s. A response that is not confirmed under them by the "
                 "deadline is not evaluated.") % {"version": call.terms_version},
          url=_call_url(call), key=f"call-{call.pk}-terms-{call.terms_version}")
    return call


def _audience(call: Call, respondents: list[User]) -> list[User]:
    """Who hears about an open call's change, reminder or cancellation. For a sealed call, every member of every
    supplier qualified for its category hears too, so the notifications do not tell how many bid (sourcing
    eligibility requires that qualification, so the bidders are among them)."""
    if call.sealed and not call.responses_opened:
        return [*_eligible_suppliers(call), *respondents]
    return respondents


def _eligible_suppliers(call: Call) -> list[User]:
    category = (call.eligibility or {}).get("category")
    if not category:
        return []
    organisations = SupplierQualification.objects.filter(
        category=category, state=QualificationState.QUALIFIED).values("organisation_id")
    return list(User.objects.filter(memberships__organisation__in=organisations, is_active=True).distinct())


@transaction.atomic
def call_publish(*, actor: User, call: Call) -> Call:
    """Publish a draft: its rules (and their sha256) become public and responses are accepted until the deadline."""
    call = _lock(call)
    ensure_can_manage_call(person=actor, call=call)
    return draft_publish(actor=actor, call=call)


def draft_publish(*, actor: User, call: Call) -> Call:
    """Publish a locked draft, once the caller has checked who may (`call_publish`, `kinds.idea_post`)."""
    if call.state != CallState.DRAFT:
        raise WrongCallState(detail=_("Only a draft can be published."))
    _check_timeline(call, now=database_now())
    validate = _hook(call, "validate_call")
    if validate is not None:
        validate(call=call)
    call.rules_hash = rules_hash(call)
    call.publish()
    call.published_at = timezone.now()
    call.save()
    _event(call, "call.published", actor=actor, rules_hash=call.rules_hash, terms_version=call.terms_version,
           responses_until=call.responses_until.isoformat() if call.responses_until else None)
    return call


@transaction.atomic
def call_cancel(*, actor: User, call: Call, reason: str) -> Call:
    """The owner (or an operator) cancels a call before its award, with a public reason."""
    call = _lock(call)
    ensure_can_manage_call(person=actor, call=call)
    if not reason.strip():
        raise InvalidInput(detail=_("Say why the call is cancelled."))
    if call.state not in {CallState.DRAFT, CallState.OPEN, CallState.CLOSED, CallState.EVALUATED,
                          CallState.STANDSTILL}:
        raise WrongCallState(detail=_("An awarded or ended call cannot be cancelled."))
    was_draft = call.state == CallState.DRAFT
    call.cancel()
    call.end_reason = reason.strip()
    call.ended_at = timezone.now()
    call.save()
    _event(call, "call.cancelled", actor=actor, public=not was_draft, reason=call.end_reason)
    if not was_draft:
        author = [call.created_by] if call.created_by is not None and call.created_by_id != actor.pk else []
        _tell([*author, *_audience(call, _respondents(call))],
              title=_("“%(title)s” was cancelled") % {"title": call.title},
              body=call.end_reason,
              url=_call_url(call), key=f"call-{call.pk}-cancelled")
    return call


# Responses -------------------------------------------------------------------------------------------------------


def _receipt(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@transaction.atomic
def response_submit(
    *, actor: User, call: Call, content: dict[str, Any], organisation: Organisation | None = None
) -> Response:
    """Respond to an open call before its deadline. The kind checks eligibility and the content; a sealed call's
    content is sealed and nothing about the response is visible to anyone but the respondent until the deadline."""
    call = _lock(call)
    if call.state != CallState.OPEN:
        raise WrongCallState(detail=_("The call is not open for responses."))
    assert call.responses_until is not None
    if database_now() >= call.responses_until:
        raise DeadlinePassed(detail=_("The deadline for responses has passed."))
    if organisation is not None and not accounts_selectors.is_member(person=actor, organisation=organisation):
        raise NotEligible(detail=_("You may respond only for an organisation you are a member of."))
    if organisation is not None and organisation.pk == call.owner_id:
        raise NotEligible(detail=_("A call's owner cannot respond to its own call."))
    eligible = _hook(call, "eligible")
    if eligible is not None and eligible(call=call, person=actor, organisation=organisation) is False:
        raise NotEligible()
    _json(content, field="content")
    validate = _hook(call, "validate_response")
    if validate is not None:
        cleaned = validate(call=call, content=content, person=actor, organisation=organisation)
        if cleaned is not None:
            content = cleaned
    existing = Response.objects.filter(call=call).exclude(state=ResponseState.WITHDRAWN)
    existing = existing.filter(organisation=organisation) if organisation else existing.filter(
        respondent=actor, organisation=None)
    if existing.exists():
        raise AlreadyResponded(detail=_("You have responded to this call already; withdraw that response first."))
    nonce = secrets.token_hex(16)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    response = Response(call=call, respondent=actor, organisation=organisation, terms_version=call.terms_version)
    if call.sealed:
        seal = _hook(call, "seal")
        sealed = seal(call=call, content=content) if seal is not None else canonical.encode()
        response.sealed_content = bytes(sealed)
        response.receipt = _receipt(bytes(sealed) + nonce.encode())
    else:
        response.content = content
        response.receipt = _receipt(canonical.encode() + nonce.encode())
    response.save()
    if call.frozen_at is None:
        call.frozen_at = timezone.now()
        call.save(update_fields=["frozen_at", "updated_at"])
        if not call.sealed:
            _event(call, "call.rules_frozen", actor=None, rules_hash=call.rules_hash)
    if not call.sealed:
        _event(call, "response.submitted", actor=actor, response=response.pk,
               organisation_name=organisation.name if organisation else None)
        _tell(_managers(call.owner), title=_("A new response to “%(title)s”") % {"title": call.title},
              url=_call_url(call), key=f"response-{response.pk}-submitted")
    return response


def _own_response(*, actor: User, response: Response) -> Response:
    response = Response.objects.select_related("call", "organisation").get(pk=response.pk)
    mine = response.respondent_id == actor.pk or (
        response.organisation is not None
        and accounts_selectors.can_manage(person=actor, organisation=response.organisation)
    )
    if not mine:
        from makercloud.calls.errors import ResponseNotFound

        raise ResponseNotFound()
    return response


@transaction.atomic
def response_confirm(*, actor: User, response: Response) -> Response:
    """Confirm a response invalidated by an amendment: it is valid again under the call's current terms."""
    response = _own_response(actor=actor, response=response)
    call = _lock(response.call)
    if call.state != CallState.OPEN or (call.responses_until and database_now() >= call.responses_until):
        raise DeadlinePassed(detail=_("The deadline has passed: responses can no longer be confirmed."))
    response = Response.objects.select_for_update().get(pk=response.pk)
    if response.state != ResponseState.INVALIDATED:
        raise WrongResponseState(detail=_("Only a response that needs confirming can be confirmed."))
    response.confirm()
    response.terms_version = call.terms_version
    response.save(update_fields=["state", "terms_version", "updated_at"])
    if not call.sealed:
        _event(call, "response.confirmed", actor=actor, response=response.pk, terms_version=call.terms_version)
    return response


@transaction.atomic
def response_withdraw(*, actor: User, response: Response) -> Response:
    """Withdraw one's response before the deadline."""
    response = _own_response(actor=actor, response=response)
    call = _lock(response.call)
    if call.state != CallState.OPEN or (call.responses_until and database_now() >= call.responses_until):
        raise DeadlinePassed(detail=_("The deadline has passed: responses can no longer be withdrawn."))
    response = Response.objects.select_for_update().get(pk=response.pk)
    if response.state == ResponseState.WITHDRAWN:
        raise WrongResponseState(detail=_("The response is withdrawn already."))
    response.withdraw()
    response.save(update_fields=["state", "updated_at"])
    if not call.sealed:
        _event(call, "response.withdrawn", actor=actor, response=response.pk)
    return response


# Questions and answers -------------------------------------------------------------------------------------------


@transaction.atomic
def question_ask(*, actor: User, call: Call, text: str) -> Question:
    """A public question while the call is open, until questions_until (or the deadline)."""
    call = _lock(call)
    if call.state != CallState.OPEN:
        raise WrongCallState(detail=_("Questions are taken while the call is open."))
    until = call.questions_until or call.responses_until
    if until is not None and database_now() >= until:
        raise DeadlinePassed(detail=_("The time for questions has passed."))
    if not text.strip():
        raise InvalidInput(detail=_("Write your question."))
    question = Question.objects.create(call=call, asker=actor, text=text.strip())
    _event(call, "question.asked", actor=actor, question=question.pk, text=question.text)
    _tell(_managers(call.owner), title=_("A question about “%(title)s”") % {"title": call.title},
          body=question.text, url=_call_url(call), key=f"question-{question.pk}")
    return question


@transaction.atomic
def question_answer(*, actor: User, question: Question, text: str) -> Answer:
    """The owner answers a question publicly, while the call is open."""
    question = Question.objects.select_related("call", "call__owner").get(pk=question.pk)
    call = _lock(question.call)
    ensure_can_manage_call(person=actor, call=call)
    if call.state != CallState.OPEN:
        raise WrongCallState(detail=_("Questions are answered while the call is open."))
    if not text.strip():
        raise InvalidInput(detail=_("Write the answer."))
    answer, _created = Answer.objects.update_or_create(question=question, defaults={"author": actor,
                                                                                      "text": text.strip()})
    _event(call, "question.answered", actor=actor, question=question.pk, text=answer.text)
    _tell([question.asker], title=_("Your question about “%(title)s” is answered") % {"title": call.title},
          body=answer.text, url=_call_url(call), key=f"answer-{question.pk}-{answer.pk}")
    return answer


# Deadlines: close, evaluate, select, award, contract -------------------------------------------------------------


@transaction.atomic
def call_close(*, call: Call, actor: User | None = None) -> Call:
    """Close an open call at its deadline (the scheduler does it). Refused before responses_until by the database's
    clock. Sealed responses are opened (the kind's `unseal`)."""
    call = _lock(call)
    if call.state != CallState.OPEN:
        raise WrongCallState(detail=_("Only an open call can close."))
    assert call.responses_until is not None
    if database_now() < call.responses_until:
        raise CallNotDue(detail=_("The call closes at its deadline, not before."))
    call.close()
    call.closed_at = timezone.now()
    call.save()
    responses = list(Response.objects.select_for_update().filter(call=call).exclude(state=ResponseState.WITHDRAWN))
    if call.sealed:
        unseal = _hook(call, "unseal")
        for response in responses:
            if unseal is not None:
                response.content = unseal(call=call, response=response)
            elif response.sealed_content is not None:
                response.content = json.loads(bytes(response.sealed_content).decode())
        _update_responses(responses, {"content": "jsonb"})
    valid = [r for r in responses if r.state in VALID_RESPONSE_STATES and r.terms_version == call.terms_version]
    _event(call, "call.closed", actor=actor, responses=len(valid),
           not_confirmed=sum(1 for r in responses if r.state == ResponseState.INVALIDATED))
    _tell([*_managers(call.owner), *_respondents(call)],
          title=_("“%(title)s” is closed") % {"title": call.title},
          body=_("%(count)s valid responses are being evaluated.") % {"count": len(valid)},
          url=_call_url(call), key=f"call-{call.pk}-closed")
    return call


def _update_responses(responses: list[Response], columns: dict[str, str], batch: int = 1000) -> None:
    """Write one or two columns of many responses in a few statements (WITH v AS (VALUES …) UPDATE … FROM v), on
    PostgreSQL and SQLite: a call with thousands of bids closes and ranks in about a second, where bulk_update's CASE
    takes seconds."""
    table = Response._meta.db_table
    fields = {name: Response._meta.get_field(name) for name in columns}
    postgres = connection.vendor == "postgresql"
    for start in range(0, len(responses), batch):
        chunk = responses[start:start + batch]
        if not chunk:
            continue
        row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
        params: list[Any] = []
        for response in chunk:
            params.append(response.pk)
            for name, field in fields.items():
                params.append(field.get_db_prep_save(getattr(response, name), connection))  # type: ignore[union-attr]
        names = ", ".join(f'"{name}"' for name in columns)
        assignments = ", ".join(
            f'"{name}" = v."{name}"' + (f"::{kind}" if postgres else "") for name, kind in columns.items())
        with connection.cursor() as cursor:
            cursor.execute(
                f'WITH v("id", {names}) AS (VALUES {", ".join([row] * len(chunk))}) '  # noqa: S608
                f'UPDATE "{table}" SET {assignments} FROM v WHERE "{table}"."id" = v."id"'
                + ("::bigint" if postgres else ""),
                params,
            )


def valid_responses(call: Call) -> list[Response]:
    return list(Response.objects.filter(call=call, state__in=VALID_RESPONSE_STATES, terms_version=call.terms_version)
                .select_related("respondent", "organisation").defer("sealed_content", "respondent__password")
                .order_by("created_at", "id"))


@transaction.atomic
def call_evaluate(*, call: Call, actor: User | None = None) -> Call:
    """Rank the valid responses by the published selection (the kind's `evaluate`). With a formula, the top ranked
    is selected and the standstill starts; where the owner picks, the call waits in `evaluated` for the pick. With no
    valid response the call is unsuccessful."""
    call = _lock(call)
    if call.state != CallState.CLOSED:
        raise WrongCallState(detail=_("Only a closed call can be evaluated."))
    valid = {response.pk: response for response in valid_responses(call)}
    evaluate = _hook(call, "evaluate")
    returned = evaluate(call=call) if evaluate is not None else list(valid.values())
    ranked: list[Response] = []
    for position, candidate in enumerate((r for r in returned if r.pk in valid), start=1):
        response = valid[candidate.pk]
        score = getattr(candidate, "score", None)
        response.rank, response.score = position, Decimal(str(score)) if score is not None else None
        ranked.append(response)
    Response.objects.filter(call=call).update(rank=None)
    _update_responses(ranked, {"rank": "integer", "score": "numeric"})
    call.evaluate()
    call.evaluated_at = timezone.now()
    call.winner = None
    if not ranked:
        call.fail()
        call.end_reason = _("No valid response.")
        call.ended_at = timezone.now()
        call.save()
        _event(call, "call.unsuccessful", actor=actor, reason="no-valid-response")
        _tell(_managers(call.owner), title=_("“%(title)s” ended without a valid response") % {"title": call.title},
              url=_call_url(call), key=f"call-{call.pk}-unsuccessful")
        return call
    ranking = [{"rank": r.rank, "response": r.pk, "score": str(r.score) if r.score is not None else None,
                "respondent": r.organisation.name if r.organisation else r.respondent.name} for r in ranked[:100]]
    _event(call, "call.evaluated", actor=actor, ranking=ranking, ranked=len(ranked))
    if owner_picks(call):
        call.save()
        _tell(_managers(call.owner), title=_("Select the winner of “%(title)s”") % {"title": call.title},
              body=_("%(count)s responses are ranked; select one with a published reason.") % {"count": len(ranked)},
              url=_call_url(call), key=f"call-{call.pk}-pick-{call.evaluated_at.isoformat()}")
        return call
    _select(call, ranked[0], reason=_("Ranked first under the published selection."), actor=actor)
    return call


def _select(call: Call, response: Response, *, reason: str, actor: User | None) -> None:
    call.winner = response
    call.award_reason = reason
    call.start_standstill()
    call.standstill_until = timezone.now() + timedelta(days=call.standstill_days)
    call.save()
    _event(call, "call.selected", actor=actor, response=response.pk, reason=reason,
           standstill_until=call.standstill_until.isoformat())
    _tell([*_respondents(call), *_managers(call.owner)],
          title=_("“%(title)s”: a response is selected") % {"title": call.title},
          body=_("Complaints may be filed until %(until)s.") % {"until": call.standstill_until.strftime(
              "%Y-%m-%d %H:%M UTC")},
          url=_call_url(call), key=f"call-{call.pk}-selected-{response.pk}-{call.standstill_until.isoformat()}")


@transaction.atomic
def call_select(*, actor: User, call: Call, response: Response, reason: str) -> Call:
    """The owner selects a ranked response with a published reason; the standstill starts."""
    call = _lock(call)
    ensure_can_manage_call(person=actor, call=call)
    if call.state != CallState.EVALUATED:
        raise WrongCallState(detail=_("A response is selected after the evaluation."))
    if not reason.strip():
        raise InvalidInput(detail=_("Publish the reason of the selection."))
    if response.call_id != call.pk or response.pk not in {r.pk for r in valid_responses(call)}:
        raise InvalidInput(detail=_("Select one of the call's valid responses."))
    _select(call, response, reason=reason.strip(), actor=actor)
    return call


@transaction.atomic
def call_award(*, call: Call, actor: User | None = None) -> Call:
    """Award the selected response once the standstill is over and every complaint is decided."""
    call = _lock(call)
    if call.state != CallState.STANDSTILL:
        raise WrongCallState(detail=_("A call is awarded after its standstill."))
    assert call.standstill_until is not None and call.winner is not None
    if database_now() < call.standstill_until:
        raise CallNotDue(detail=_("The standstill is not over yet."))
    if Complaint.objects.filter(call=call, state=ComplaintState.FILED).exists():
        raise ComplaintsPending()
    call.award()
    call.awarded_at = timezone.now()
    call.save()
    effects = _hook(call, "award")
    if effects is not None:
        effects(call=call, response=call.winner, actor=actor)
    winner = call.winner
    _event(call, "call.awarded", actor=actor, response=winner.pk, reason=call.award_reason,
           respondent=winner.organisation.name if winner.organisation else winner.respondent.name)
    _tell([winner.respondent], title=_("You won “%(title)s”") % {"title": call.title},
          body=_("The contract follows."), url=_call_url(call), key=f"call-{call.pk}-won")
    _tell([p for p in _respondents(call) if p.pk != winner.respondent_id],
          title=_("“%(title)s” is awarded") % {"title": call.title}, url=_call_url(call),
          key=f"call-{call.pk}-awarded")
    _tell(_managers(call.owner), title=_("“%(title)s” is awarded") % {"title": call.title}, url=_call_url(call),
          key=f"call-{call.pk}-awarded")
    return call


@transaction.atomic
def call_contract(*, call: Call, actor: User | None = None) -> Call:
    """Draw up the awarded call's contract (contracts' `contract_create_from_award`); the call is then contracted."""
    call = _lock(call)
    if call.state != CallState.AWARDED:
        raise WrongCallState(detail=_("Only an awarded call gets its contract."))
    from makercloud.contracts.services import contract_create_from_award  # contracts imports calls: import here

    assert call.winner is not None
    contract = contract_create_from_award(call=call, response=call.winner, actor=actor or call.created_by)
    call.contract()
    call.save()
    _event(call, "call.contracted", actor=actor, contract=getattr(contract, "pk", None))
    return call


@transaction.atomic
def call_unsuccessful(*, actor: User, call: Call, reason: str) -> Call:
    """The owner ends an evaluated call without a selection (no response is good enough), with a public reason."""
    call = _lock(call)
    ensure_can_manage_call(person=actor, call=call)
    if call.state != CallState.EVALUATED:
        raise WrongCallState(detail=_("A call ends without a selection after its evaluation."))
    if not reason.strip():
        raise InvalidInput(detail=_("Say why no response is selected."))
    call.fail()
    call.end_reason = reason.strip()
    call.ended_at = timezone.now()
    call.save()
    _event(call, "call.unsuccessful", actor=actor, reason=call.end_reason)
    _tell(_respondents(call), title=_("“%(title)s” ended without a selection") % {"title": call.title},
          body=call.end_reason, url=_call_url(call), key=f"call-{call.pk}-unsuccessful")
    return call


# Complaints ------------------------------------------------------------------------------------------------------


def is_participant(*, person: User, call: Call) -> bool:
    responses = Response.objects.filter(call=call).exclude(state=ResponseState.WITHDRAWN)
    if responses.filter(respondent=person).exists():
        return True
    organisations = Membership.objects.filter(person=person).values("organisation_id")
    return responses.filter(organisation__in=organisations).exists()


@transaction.atomic
def complaint_submit(*, actor: User, call: Call, reasons: str, evidence: list[Any] | None = None) -> Complaint:
    """A participant complains during the standstill, with reasons and evidence; the award waits for the decision."""
    call = _lock(call)
    if call.state != CallState.STANDSTILL:
        raise WrongCallState(detail=_("Complaints are filed during the standstill."))
    assert call.standstill_until is not None
    if database_now() >= call.standstill_until:
        raise DeadlinePassed(detail=_("The standstill is over."))
    if not is_participant(person=actor, call=call):
        raise NotParticipant()
    if not reasons.strip():
        raise InvalidInput(detail=_("Give the reasons of your complaint."))
    complaint = Complaint.objects.create(call=call, complainant=actor, reasons=reasons.strip(),
                                         evidence=_links(evidence or [], field="evidence"))
    _event(call, "complaint.filed", actor=actor, complaint=complaint.pk, reasons=complaint.reasons)
    _tell([*_operators(), *_managers(call.owner)],
          title=_("A complaint about “%(title)s”") % {"title": call.title}, body=complaint.reasons,
          url=reverse("calls:complaints", args=[call.pk]), key=f"complaint-{complaint.pk}")
    return complaint


@transaction.atomic
def complaint_decide(
    *, actor: User, complaint: Complaint, upheld: bool, reasons: str, remedy: str = ComplaintRemedy.NONE
) -> Complaint:
    """An operator decides a complaint publicly, with reasons. Upheld, it can overturn the selection: disqualify the
    selected response (the next ranked is selected and the standstill starts again, or, where the owner picks, the
    owner picks again) or evaluate again."""
    ensure_operator(person=actor)
    complaint = Complaint.objects.select_for_update().select_related("call").get(pk=complaint.pk)
    call = _lock(complaint.call)
    if complaint.state != ComplaintState.FILED:
        raise ComplaintDecided()
    if not reasons.strip():
        raise InvalidInput(detail=_("Publish the reasons of the decision."))
    if remedy not in ComplaintRemedy.values:
        raise InvalidInput(detail=_("Unknown remedy."))
    if not upheld and remedy != ComplaintRemedy.NONE:
        raise InvalidInput(detail=_("A dismissed complaint changes nothing."))
    if remedy != ComplaintRemedy.NONE and call.state != CallState.STANDSTILL:
        raise WrongCallState(detail=_("The selection can be overturned only during the standstill."))
    if upheld:
        complaint.uphold()
    else:
        complaint.dismiss()
    complaint.remedy = remedy
    complaint.decision_reasons = reasons.strip()
    complaint.decided_by = actor
    complaint.decided_at = timezone.now()
    complaint.save()
    _event(call, "complaint.decided", actor=actor, complaint=complaint.pk, upheld=upheld, remedy=remedy,
           reasons=complaint.decision_reasons)
    _tell([complaint.complainant, *_managers(call.owner)],
          title=_("The complaint about “%(title)s” is decided") % {"title": call.title},
          body=complaint.decision_reasons, url=reverse("calls:complaints", args=[call.pk]),
          key=f"complaint-{complaint.pk}-decided")
    if remedy == ComplaintRemedy.DISQUALIFY:
        _disqualify_winner(call, reason=complaint.decision_reasons, actor=actor)
    elif remedy == ComplaintRemedy.REEVALUATE:
        call.winner = None
        call.reopen_evaluation()
        call.save()
        _event(call, "call.reevaluating", actor=actor, complaint=complaint.pk)
        call_evaluate(call=call, actor=actor)
    return complaint


def _disqualify_winner(call: Call, *, reason: str, actor: User) -> None:
    assert call.winner is not None
    loser = Response.objects.select_for_update().get(pk=call.winner.pk)
    loser.disqualify()
    loser.disqualified_reason = reason
    loser.save(update_fields=["state", "disqualified_reason", "updated_at"])
    _event(call, "response.disqualified", actor=actor, response=loser.pk, reason=reason)
    _tell([loser.respondent], title=_("Your response to “%(title)s” is disqualified") % {"title": call.title},
          body=reason, url=_call_url(call), key=f"response-{loser.pk}-disqualified")
    if owner_picks(call):
        call.winner = None
        call.reopen_evaluation()
        call.save()
        call_evaluate(call=call, actor=actor)
        return
    following = (Response.objects.filter(call=call, state__in=VALID_RESPONSE_STATES, terms_version=call.terms_version,
                                         rank__isnull=False).order_by("rank").first())
    if following is None:
        call.winner = None
        call.fail()
        call.end_reason = _("The selected response was disqualified and no other is valid.")
        call.ended_at = timezone.now()
        call.save()
        _event(call, "call.unsuccessful", actor=actor, reason="no-valid-response")
        return
    call.reopen_selection()  # back one step: the next ranked is selected and a new standstill starts
    _select(call, following, reason=_("Next ranked after the selected response was disqualified."), actor=actor)


# Supplier qualification ------------------------------------------------------------------------------------------


@transaction.atomic
def qualification_apply(
    *, actor: User, organisation: Organisation, category: str, documents: list[Any] | None = None
) -> SupplierQualification:
    """A supplier organisation applies for a category of modules, with documents."""
    if organisation.kind != OrganisationKind.SUPPLIER:
        raise InvalidInput(detail=_("Only supplier organisations are qualified."))
    accounts_selectors.ensure_can_manage(person=actor, organisation=organisation)
    category = category.strip().lower()
    if not category or len(category) > 64 or not all(c.isalnum() or c in "-_" for c in category):
        raise InvalidInput(detail=_("A category is a short name of letters, digits and dashes."))
    if not documents:
        raise InvalidInput(detail=_("Attach at least one document."))
    documents = _links(documents, field="documents")
    if SupplierQualification.objects.filter(organisation=organisation, category=category,
                                            state__in=[QualificationState.APPLIED,
                                                       QualificationState.QUALIFIED]).exists():
        raise AlreadyApplied()
    qualification = SupplierQualification.objects.create(
        organisation=organisation, category=category, documents=documents, applied_by=actor)
    record_event(actor=actor, subject=qualification, kind="qualification.applied", organisation=organisation,
                 data={"category": category})
    _tell(_operators(), title=_("%(supplier)s applies to be qualified for %(category)s") % {
        "supplier": organisation.name, "category": category}, url=reverse("calls:qualification-queue"),
        key=f"qualification-{qualification.pk}")
    return qualification


@transaction.atomic
def qualification_decide(
    *, actor: User, qualification: SupplierQualification, qualified: bool, reasons: str,
    valid_until: datetime | None = None,
) -> SupplierQualification:
    """An operator qualifies (until a date, or without end) or rejects, with reasons."""
    ensure_operator(person=actor)
    qualification = SupplierQualification.objects.select_for_update().get(pk=qualification.pk)
    if qualification.state != QualificationState.APPLIED:
        raise WrongQualificationState()
    if not reasons.strip():
        raise InvalidInput(detail=_("Give the reasons of the decision."))
    if qualified:
        if valid_until is not None and valid_until <= database_now():
            raise InvalidInput(detail=_("A qualification must be valid until a future date."))
        qualification.qualify()
        qualification.valid_until = valid_until
    else:
        qualification.reject()
    qualification.reasons = reasons.strip()
    qualification.decided_by = actor
    qualification.decided_at = timezone.now()
    qualification.save()
    record_event(actor=actor, subject=qualification, kind=f"qualification.{qualification.state}",
                 organisation=qualification.organisation_id, public=qualified,
                 data={"category": qualification.category, "reasons": qualification.reasons})
    _tell(_managers(qualification.organisation_id),
          title=_("Your qualification for %(category)s: %(state)s") % {
              "category": qualification.category, "state": qualification.get_state_display()},
          body=qualification.reasons, url=reverse("calls:qualifications"),
          key=f"qualification-{qualification.pk}-decided")
    return qualification


@transaction.atomic
def qualification_withdraw(*, actor: User, qualification: SupplierQualification, reasons: str) -> (
        SupplierQualification):
    """The supplier withdraws its application or qualification; or an operator withdraws a qualification."""
    qualification = SupplierQualification.objects.select_for_update().select_related("organisation").get(
        pk=qualification.pk)
    accounts_selectors.ensure_can_manage(person=actor, organisation=qualification.organisation)
    if qualification.state not in {QualificationState.APPLIED, QualificationState.QUALIFIED}:
        raise WrongQualificationState()
    if accounts_selectors.is_operator(person=actor) and not reasons.strip():
        raise InvalidInput(detail=_("Give the reasons of the withdrawal."))
    qualification.withdraw()
    qualification.reasons = reasons.strip()
    qualification.decided_by = actor
    qualification.decided_at = timezone.now()
    qualification.save()
    record_event(actor=actor, subject=qualification, kind="qualification.withdrawn",
                 organisation=qualification.organisation_id, public=True,
                 data={"category": qualification.category, "reasons": qualification.reasons})
    _tell(_managers(qualification.organisation_id),
          title=_("Your qualification for %(category)s is withdrawn") % {"category": qualification.category},
          body=qualification.reasons, url=reverse("calls:qualifications"),
          key=f"qualification-{qualification.pk}-withdrawn")
    return qualification


def qualifications_lapse(*, now: datetime | None = None) -> int:
    """Qualifications past their valid_until lapse. Returns how many."""
    now = now or database_now()
    count = 0
    for pk in SupplierQualification.objects.filter(
            state=QualificationState.QUALIFIED, valid_until__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            qualification = SupplierQualification.objects.select_for_update().get(pk=pk)
            if qualification.state != QualificationState.QUALIFIED:
                continue
            qualification.lapse()
            qualification.save()
            record_event(actor=None, subject=qualification, kind="qualification.lapsed",
                         organisation=qualification.organisation_id, public=True,
                         data={"category": qualification.category})
            _tell(_managers(qualification.organisation_id),
                  title=_("Your qualification for %(category)s has lapsed") % {"category": qualification.category},
                  body=_("Apply again to bid on sourcing calls of this category."), url=reverse("calls:qualifications"),
                  key=f"qualification-{qualification.pk}-lapsed")
            count += 1
    return count


# The scheduler's work --------------------------------------------------------------------------------------------


def _each(ids: Iterable[int], step: Any, summary: dict[str, int], name: str) -> None:
    for pk in ids:
        try:
            step(call=Call.objects.get(pk=pk))
        except (WrongCallState, CallNotDue, ComplaintsPending):
            continue  # someone else got there first, or the database says not yet
        except Exception:  # one broken call must not stop the others' deadlines
            logger.exception("calls: %s failed for call %s", name, pk)
            summary["failed"] += 1
        else:
            summary[name] += 1


def calls_tick() -> dict[str, int]:
    """One pass of the deadline scheduler, all from the database: remind, close and evaluate overdue calls, award
    those whose standstill is over, draw up contracts, lapse qualifications. Safe to run twice or late."""
    now = database_now()
    summary = {"reminded": 0, "closed": 0, "evaluated": 0, "awarded": 0, "contracted": 0, "lapsed": 0, "failed": 0}
    for call in Call.objects.filter(state=CallState.OPEN, reminded_at=None, responses_until__gt=now,
                                    responses_until__lte=now + REMINDER_BEFORE):
        with transaction.atomic():
            if Call.objects.filter(pk=call.pk, reminded_at=None).update(reminded_at=timezone.now()):
                people = [*_managers(call.owner), *_audience(call, _respondents(call))]
                _tell(people, title=_("“%(title)s” closes soon") % {"title": call.title},
                      body=_("Responses are accepted until %(until)s.") % {
                          "until": call.responses_until.strftime("%Y-%m-%d %H:%M UTC")},  # type: ignore[union-attr]
                      url=_call_url(call), key=f"call-{call.pk}-reminder-{call.terms_version}")
                summary["reminded"] += 1
    due = Call.objects.filter(state=CallState.OPEN, responses_until__lte=now).values_list("pk", flat=True)
    _each(list(due), call_close, summary, "closed")
    closed = Call.objects.filter(state=CallState.CLOSED).values_list("pk", flat=True)
    _each(list(closed), call_evaluate, summary, "evaluated")
    ended = (Call.objects.filter(state=CallState.STANDSTILL, standstill_until__lte=now)
             .exclude(complaints__state=ComplaintState.FILED).values_list("pk", flat=True))
    _each(list(ended), call_award, summary, "awarded")
    awarded = Call.objects.filter(state=CallState.AWARDED).values_list("pk", flat=True)
    _each(list(awarded), call_contract, summary, "contracted")
    summary["lapsed"] = qualifications_lapse(now=now)
    return summary
