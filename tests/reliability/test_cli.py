"""``saga matrix`` and ``saga redrive`` refuse what they cannot do, saying why (their runs are in
``offline/test_failure_matrix.py`` and ``offline/test_compensation_failure.py``)."""

from __future__ import annotations

from typer.testing import CliRunner

from sagakit.cli import app


def test_saga_matrix_names_the_known_sagas_when_given_an_unknown_one() -> None:
    result = CliRunner().invoke(app, ["matrix", "NoSuchSaga"])
    assert result.exit_code == 2
    assert "no saga named 'NoSuchSaga' (known: " in result.output


def test_saga_redrive_wants_an_execution_arn_and_one_endpoint() -> None:
    result = CliRunner().invoke(app, ["redrive", "arn:aws:states:eu-west-1:1:stateMachine:m"])
    assert result.exit_code == 2
    assert "is not an execution ARN" in result.output
    arn = "arn:aws:states:eu-west-1:123456789012:execution:m:e"
    result = CliRunner().invoke(app, ["redrive", arn, "--local", "--endpoint-url", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "give at most one of --local or --endpoint-url" in result.output
