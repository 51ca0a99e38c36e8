"""Canaries on what the offline runtime adds to moto for reliability. When a moto upgrade moves
the seam, or closes the gap, one of these fails and says which."""

from __future__ import annotations

import inspect
import json

import boto3
import pytest
from moto import mock_aws

from sagakit.local.event_router import PUT_EVENTS_MAX_BYTES


def test_the_put_events_seam_is_still_there() -> None:
    from moto.events.models import EventsBackend

    assert list(inspect.signature(EventsBackend.put_events).parameters) == ["self", "events"]


def test_moto_alone_accepts_put_events_over_the_size_limit_so_the_event_router_checks_it() -> None:
    with mock_aws():
        events = boto3.client("events", region_name="eu-west-1")
        detail = json.dumps({"notes": "x" * PUT_EVENTS_MAX_BYTES})
        response = events.put_events(Entries=[{"Source": "clients", "DetailType": "X", "Detail": detail}])
    assert response["FailedEntryCount"] == 0


def test_moto_alone_has_no_redrive_so_sagakit_local_redrive_stands_in() -> None:
    with mock_aws():
        sfn = boto3.client("stepfunctions", region_name="eu-west-1")
        with pytest.raises(NotImplementedError, match="redrive_execution"):
            sfn.redrive_execution(executionArn="arn:aws:states:eu-west-1:123456789012:execution:m:e")
