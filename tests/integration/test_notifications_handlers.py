"""SendWelcomeEmail against moto DynamoDB."""

from __future__ import annotations

import pytest

from events.notifications import NotificationSent
from functions.notifications.handlers import send_welcome_email
from sagakit.runtime import InvalidCommand, SettingsError

SERVICE = "notifications"


def test_send_welcome_email_records_one_email_to_the_contact(service_tables, saga_command):
    # Given an onboarded client
    command = saga_command("SendWelcomeEmail")

    # When SendWelcomeEmail runs
    result = service_tables.invoke(SERVICE, send_welcome_email.handler, command)

    # Then the welcome e-mail to the contact is recorded once, from the configured sender
    sent = NotificationSent.model_validate(result)
    assert (sent.recipient, sent.template, sent.notification_id) == (
        "jane.doe@acme.example",
        "welcome",
        "ntf-66b1146a9ab1",
    )
    [item] = service_tables.items(SERVICE)
    assert item["sender"] == "welcome@aic.example"
    assert item["recipient"] == "jane.doe@acme.example"
    assert item["subject"] == "Welcome aboard, Acme Corporation"
    assert item["sagaId"] == "onboard-acme-001"


def test_a_replayed_send_returns_the_same_event_and_sends_nothing_new(service_tables, saga_command):
    # Given the welcome e-mail was already sent by this saga
    command = saga_command("SendWelcomeEmail")
    first = service_tables.invoke(SERVICE, send_welcome_email.handler, command)

    # When the same command is delivered again
    second = service_tables.invoke(SERVICE, send_welcome_email.handler, command)

    # Then the stored notification is returned and no second e-mail is recorded
    assert second == first
    assert len(service_tables.items(SERVICE)) == 1


def test_a_client_welcomed_by_another_saga_is_not_welcomed_twice(service_tables, saga_command):
    # Given another saga already welcomed the client
    first = service_tables.invoke(
        SERVICE, send_welcome_email.handler, saga_command("SendWelcomeEmail", saga_id="onboard-acme-001-r1")
    )

    # When this saga's SendWelcomeEmail runs
    second = service_tables.invoke(SERVICE, send_welcome_email.handler, saga_command("SendWelcomeEmail"))

    # Then it succeeds with the e-mail already sent (the step is retried until it succeeds)
    assert second == first
    assert len(service_tables.items(SERVICE)) == 1


def test_a_missing_sender_address_fails_naming_the_variable(service_tables, saga_command, monkeypatch):
    # Given a deployment without SENDER_ADDRESS
    service_tables.use(SERVICE)
    monkeypatch.delenv("SENDER_ADDRESS")

    # When SendWelcomeEmail runs, then it fails naming the variable, and sends nothing
    with pytest.raises(SettingsError, match="SENDER_ADDRESS: Field required"):
        send_welcome_email.handler(saga_command("SendWelcomeEmail"), service_tables.context)
    assert service_tables.items(SERVICE) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c: c["detail"].pop("clientId"), "detail.clientId"),
        (lambda c: c["detail"].update(contactEmail="jane.doe"), "detail.contactEmail"),
        (lambda c: c["detail"].update(companyName="   "), "detail.companyName"),
        (lambda c: c["detail"].update(newsletter=True), "detail.newsletter"),
    ],
    ids=["missing clientId", "not an e-mail address", "blank company name", "unknown field"],
)
def test_bad_input_is_refused_naming_the_field(service_tables, saga_command, change, field):
    # Given a command with one wrong field
    command = saga_command("SendWelcomeEmail")
    change(command)

    # When SendWelcomeEmail runs, then it is refused naming that field, and nothing is sent
    with pytest.raises(InvalidCommand, match=rf"{field}: "):
        service_tables.invoke(SERVICE, send_welcome_email.handler, command)
    assert service_tables.items(SERVICE) == []
