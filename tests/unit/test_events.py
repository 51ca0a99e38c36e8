"""The event contracts: every event has a model, a valid sample and an up-to-date schema, and a
bad event is refused with a message that names the field."""

from __future__ import annotations

import json
from typing import Any

import pytest

from events import (
    EVENTS,
    SAMPLES_DIR,
    SCHEMAS_DIR,
    EventEnvelope,
    contract,
    event_exists,
    load_sample,
    parse_event,
)
from events.clients import ClientOnboarded
from events.export import render_schemas


def sample(name: str) -> dict[str, Any]:
    """The raw JSON of event ``name``'s sample."""
    return json.loads(contract(name).sample_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EVENTS))
def test_every_sample_is_a_valid_envelope_of_its_event(name):
    # Given the sample of a registered event
    raw = sample(name)

    # When it is parsed through the envelope and the registry
    parsed = parse_event(raw)

    # Then it is that event, from its producer, and survives a round trip unchanged
    found = contract(name)
    assert (raw["source"], raw["detail-type"]) == (found.source, found.name)
    assert isinstance(parsed, found.model)
    assert EventEnvelope.of(parsed).parse_detail() == parsed


def test_every_sample_and_schema_file_belongs_to_a_registered_event():
    # Given the files on disk and the registry
    samples = {path.name for path in SAMPLES_DIR.glob("*.json")}
    schemas = {path.name for path in SCHEMAS_DIR.glob("*.schema.json")}

    # Then each event has exactly one of each, and there is nothing else
    assert samples == {c.sample_path.name for c in EVENTS.values()}
    assert schemas == {c.schema_path.name for c in EVENTS.values()}


def test_committed_schemas_match_the_models():
    # Given the schemas the models render today
    rendered = render_schemas()

    # Then the committed files are identical
    stale = [
        name
        for name, text in rendered.items()
        if not (SCHEMAS_DIR / name).exists() or (SCHEMAS_DIR / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"schemas out of date: {', '.join(stale)}; run `make schemas`"


def test_the_trigger_sample_is_the_documented_client():
    onboarded = load_sample("ClientOnboarded").parse_detail_as(ClientOnboarded)
    assert (onboarded.client_id, onboarded.plan, onboarded.payment_method) == ("acme-001", "growth", "pm_card_visa")


def test_registry_lookups():
    assert event_exists("WorkspaceCreated")
    assert not event_exists("WorkspaceCreatd")
    assert contract("BillingProfileCreated").source == "billing"
    with pytest.raises(KeyError, match=r"unknown event 'Nope' \(known: BillingProfileCreated, "):
        contract("Nope")


def _with(name: str, **detail: Any) -> dict[str, Any]:
    raw = sample(name)
    raw["detail"].update(detail)
    return raw


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {**sample("ClientOnboarded"), "source": "billing"},
            "source: expected 'clients' for ClientOnboarded, got 'billing'",
        ),
        (
            {**sample("ClientOnboarded"), "detail-type": "ClientSignedUp"},
            "detail-type: unknown event 'ClientSignedUp'",
        ),
        ({"source": "clients", "detail": {}}, "detail-type: Field required"),
        (_with("ClientOnboarded", clientId="acme 001"), "detail.clientId: String should match pattern"),
        (_with("ClientOnboarded", companyName="  "), "detail.companyName: String should have at least 1 character"),
        (_with("ClientOnboarded", companyName="Acme\r\nBcc: all@example.com"), r"detail.companyName: .*U\+000D"),
        (_with("ClientOnboarded", companyName="Acme\x00"), r"detail.companyName: .*U\+0000 \(unnamed\) at position 4"),
        (
            _with("ClientOnboarded", companyName="Acme \u202egnp.exe"),
            r"detail.companyName: .*U\+202E \(RIGHT-TO-LEFT OVERRIDE\)",
        ),
        (_with("ClientOnboarded", contactEmail="jane@"), "detail.contactEmail: String should match pattern"),
        (_with("ClientOnboarded", plan="free"), "detail.plan: Input should be 'starter', 'growth' or 'enterprise'"),
        (_with("ClientOnboarded", onboardedAt="2026-11-29T09:15:00"), "detail.onboardedAt: Input should have timezone"),
        (_with("WorkspaceCreated", workspaceID="ws-1"), "detail.workspaceID: Extra inputs are not permitted"),
        (_with("SagaFailed", error="not a class name"), "detail.error: String should match pattern"),
    ],
    ids=[
        "wrong source",
        "unknown detail-type",
        "no detail-type",
        "client id with a space",
        "blank company name",
        "company name with CRLF",
        "company name with NUL",
        "company name with a bidi override",
        "not an e-mail address",
        "unknown plan",
        "naive timestamp",
        "misspelt field",
        "error that is not a name",
    ],
)
def test_a_bad_event_is_refused_naming_the_field(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_event(raw)


def test_company_names_in_any_script_are_accepted():
    for name in ("Société Générale", "株式会社アクメ", "شركة أكمي", "Acme\u200dCo"):
        onboarded = parse_event(_with("ClientOnboarded", companyName=name))
        assert isinstance(onboarded, ClientOnboarded)
        assert onboarded.company_name == name


def test_company_names_are_stripped():
    onboarded = parse_event(_with("ClientOnboarded", companyName="  Acme Corporation "))
    assert isinstance(onboarded, ClientOnboarded)
    assert onboarded.company_name == "Acme Corporation"


def test_a_delivered_event_is_read_with_aws_fields_and_unknown_top_level_keys():
    # Given an event as a rule target receives it, replayed from an archive
    delivered = {
        **sample("WorkspaceCreated"),
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "account": "123456789012",
        "time": "2026-11-29T09:15:01Z",
        "region": "eu-west-1",
        "resources": [],
        "replay-name": "onboarding-replay",
    }

    # Then it parses like the bare sample
    assert parse_event(delivered) == parse_event(sample("WorkspaceCreated"))
