"""Schemathesis hooks for .ci/smoke: what the OpenAPI document cannot say.

The document's schemas say everything a request's shape must be, and
`positive_data_acceptance` checks that every request they call valid is
accepted. A few rules of BEHAVIOUR.md cannot be written in OpenAPI:

- rules that tie two parameters together, or a parameter to a header
  (`filter_case` below keeps schema-valid cases that break them out of the
  positive data; the negative data still sends them, and they must be
  refused);
- rules that depend on what is stored or on the clock: a badge whose window
  is closed, a name already taken, an award already revoked, a start in the
  past. A schema-valid request may rightly be refused by one of them, with
  that rule's own upstream code (`filter_failure` below). A refusal with the
  generic code 400 (the request's shape) is never excused, except three
  rules of that kind: a custom field value (judged by the org's stored
  field definitions), an event time more than 24 hours after the service's
  clock, and an earnType changed once the stored badge is live.
"""

import json
import re
from datetime import datetime

import schemathesis
from schemathesis import GenerationMode

# Upstream's codes of rules that depend on stored data or on the clock
# (src/domain/problems.rs names each).
STATE_CODES = {
    714,  # an owner that is not one of the badge's
    720,  # startOn after expiresOn (two fields; also the stored one on update)
    722,  # startOn in the past (the clock)
    723,  # startOn of a badge already LIVE
    724,  # expiresOn in the past (the clock)
    725,  # a badge name already taken
    728,  # claim of a badge with no restricted owner
    733,  # a group name already taken
    737,  # unclaim of a claim that does not exist
    809,  # a requestId already used with another body
    810,  # triggeredBy that is not an active claim of the badge
    811,  # earn of an ISSUE_EARN badge without an enrolment
    812,  # a badge inactive or outside its window at the event time
    814,  # no active award to revoke
    816,  # an event time outside the badge's (or the enrolment's) window
    826,  # a live badge's constraint kinds changed (the stored badge's status)
    1040,  # already enrolled
    1041,  # enrolment in an EARN badge
    1054,  # a badge that does not exist (where it is named in a body)
    1055,  # a group that does not exist
    1056,  # a custom field that does not exist
    1057,  # a custom field name already taken
    1058,  # an earn past a limit (the awards already stored)
}

PAGE_TIMES_SIZE_MAX = 100_000
DECIMAL_ID = re.compile(r"^(0|[1-9][0-9]{0,17})$")
EXTRAS = ("tags", "customFields", "benefits", "customerConstraints", "badgeConstraints")
EXTRAS_BYTES = 3072
SMALLEST_TEXT_LIMIT = 64


def _texts(value):
    """Every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _texts(v)
    elif isinstance(value, list):
        for v in value:
            yield from _texts(v)


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@schemathesis.hook
def filter_case(context, case):
    meta = case.meta
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return True
    query = case.query or {}
    # `limit` is `size` by another name: given both, the size is ambiguous.
    if "size" in query and "limit" in query:
        return False
    # BEHAVIOUR.md 2.3: page x size may not pass 100,000.
    if "page" in query:
        size = _int(query.get("size", query.get("limit")), 10)
        if _int(query["page"], 0) * size > PAGE_TIMES_SIZE_MAX:
            return False
    # A page token is one this service issued for the same query; the
    # generator cannot make one (the stateful phase follows real ones).
    if "pageToken" in query:
        return False
    # BEHAVIOUR.md 2.2: an operator without its date is a 400.
    for date in ("startOn", "expiresOn"):
        if f"{date}Operator" in query and date not in query:
            return False
    # BEHAVIOUR.md 2.5: without the identifier header, the path's customer
    # is the numeric id, in decimal.
    path = case.path_parameters or {}
    headers = {k.lower() for k in (case.headers or {})}
    if "customerId" in path and "x-cap-customer-identifier" not in headers:
        if not DECIMAL_ID.match(str(path["customerId"])):
            return False
    # A badge keeps at most 3 KiB of JSON of tags, customFields, benefits
    # and constraints together (src/domain/extras.rs): one limit over four
    # fields. Python's encoding is near the service's (serde_json), so a
    # margin keeps the estimate on the safe side.
    body = case.body if isinstance(case.body, dict) else {}
    kept = {k: body.get(k) for k in EXTRAS if body.get(k) is not None}
    if len(json.dumps(kept, ensure_ascii=False, separators=(",", ":")).encode()) > EXTRAS_BYTES - 512:
        return False
    # Text limits are in UTF-8 bytes (src/domain/shape.rs); the schemas say
    # the same number in characters, which JSON Schema counts. A long text
    # with characters beyond ASCII may pass the one and break the other: the
    # valid data keeps its non-ASCII texts within the smallest limit (64).
    if any(len(t.encode()) > SMALLEST_TEXT_LIMIT and not t.isascii() for t in _texts(body)):
        return False
    if any(len(t.encode()) > SMALLEST_TEXT_LIMIT and not t.isascii() for t in _texts(query)):
        return False
    # BEHAVIOUR.md 11: a constraint list holds each type once, and "no
    # limit" stands alone (a rule across items, which JSON Schema cannot say).
    for field in ("customerConstraints", "badgeConstraints"):
        items = body.get(field)
        if isinstance(items, list):
            kinds = [str(c.get("constraintType", "")).upper() for c in items if isinstance(c, dict)]
            if len(set(kinds)) != len(kinds):
                return False
            if len(kinds) > 1 and any(k.endswith("NO_LIMIT") for k in kinds):
                return False
    # getFixedWindowDetails: counting a customer's cycles needs the customer,
    # and a range ends after it starts.
    if str(query.get("includeEarnCount", "")).lower() == "true" and "customerId" not in query:
        if str(query.get("constraintType", "ALL")).upper() != "BADGE":
            return False
    if "startDate" in query and "endDate" in query:
        try:
            start = datetime.fromisoformat(str(query["startDate"]).replace("Z", "+00:00"))
            end = datetime.fromisoformat(str(query["endDate"]).replace("Z", "+00:00"))
            if end < start:
                return False
        except (ValueError, TypeError):
            pass
    # The same of revokeEarn's body: without the header, customerId is a
    # number or its text.
    if isinstance(body.get("customerId"), str) and "x-cap-customer-identifier" not in headers:
        if not re.match(r"^\s*\+?[0-9]{1,18}\s*$", body["customerId"]):
            return False
    return True


def _refused_by_state_only(response):
    if response.status_code != 400:
        return False
    try:
        errors = json.loads(response.content)["errors"]
    except (ValueError, KeyError, TypeError):
        return False
    return bool(errors) and all(e.get("code") in STATE_CODES or _state_400(e) for e in errors)


def _state_400(error):
    """A 400 of a rule of stored data or the clock: a custom field value
    judged by the org's stored definition, an event time more than 24 hours
    after the service's clock, an earnType changed once the stored badge is
    live."""
    reference = str(error.get("reference", ""))
    message = str(error.get("message", ""))
    return error.get("code") == 400 and (
        reference.startswith("customFields.")
        or (reference == "earnEventDate" and "24 hours" in message)
        or (reference == "earnType" and "UPCOMING" in message)
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # Keep every failure but a positive case refused by a stored-data rule,
    # and an answer to wrong credentials that is the failed-login limiter's
    # 429 (a client that keeps failing to authenticate is slowed down, by
    # design) rather than a 401.
    if failure.code == "ST202" and _refused_by_state_only(response):
        return False
    if failure.code == "ST401" and "got `429" in failure.message:
        return False
    return True
