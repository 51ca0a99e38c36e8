"""Reliability: the Powertools idempotency table that every step and compensation uses.

``saga_handler`` (``sagakit.runtime.handler``) runs a step's logic under Powertools idempotency
when its function has ``IDEMPOTENCY_TABLE_NAME``. The table is the one Powertools'
``DynamoDBPersistenceLayer`` expects: partition key ``id``, the record's expiry in the TTL
attribute ``expiration``. A function may do exactly what the persistence layer does to it, and
only to it: GetItem, PutItem (conditional), UpdateItem and DeleteItem.
"""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.config import StageConfig
from infra.services import saga_table
from sagakit.runtime.handler import IDEMPOTENCY_TABLE_ENV

__all__ = ["IDEMPOTENCY_ACTIONS", "IDEMPOTENCY_KEY", "IDEMPOTENCY_TTL", "SagaReliability"]

#: The persistence layer's partition key and TTL attribute (Powertools' defaults).
IDEMPOTENCY_KEY = "id"
IDEMPOTENCY_TTL = "expiration"
#: Everything ``DynamoDBPersistenceLayer`` calls: get_item, put_item, update_item, delete_item.
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


class SagaReliability(Construct):
    """The idempotency table, and the means to make a saga's functions use it.

    Attributes
    ----------
    idempotency:
        The table: key ``id``, TTL ``expiration``, encrypted, with point-in-time recovery.
    """

    def __init__(self, scope: Construct, construct_id: str, *, config: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self.idempotency = saga_table(
            self, "IdempotencyTable", config=config, name="idempotency", key=IDEMPOTENCY_KEY, ttl=IDEMPOTENCY_TTL
        )

    def make_idempotent(self, functions: Iterable[lambda_.Function]) -> None:
        """Point each of ``functions`` (step and compensation handlers) at the table, with
        exactly the persistence layer's actions on it."""
        # Read once: every read of a construct's attribute is a jsii round trip to Node.
        table_name, table_arn = self.idempotency.table_name, self.idempotency.table_arn
        for function in functions:
            function.add_environment(IDEMPOTENCY_TABLE_ENV, table_name)
            iam.Grant.add_to_principal(grantee=function, actions=list(IDEMPOTENCY_ACTIONS), resource_arns=[table_arn])
