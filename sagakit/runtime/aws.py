"""The boto3 clients of a function: made once, all from one session.

Every AWS client a handler uses comes from ``aws_client``: the services' data-access layers, the
lifecycle events the step wrapper publishes, and the Powertools idempotency layer (which would
otherwise make a session of its own). One session means one botocore loader, so a service's
model, the endpoint ruleset and the partitions are read and parsed once per cold start, and the
idempotency table and a service's table share one DynamoDB client and its connection pool.
"""

from __future__ import annotations

import os
import threading
from typing import Any

__all__ = ["aws_client"]

_clients: dict[tuple[str, str | None, str | None], Any] = {}
# Making a client goes through a boto3 session, which is not thread-safe (boto3 docs,
# "Multithreading or multiprocessing with clients"); a client, once made, is.
_clients_lock = threading.Lock()


def aws_client(service_name: str) -> Any:
    """A boto3 client for ``service_name``, made once per region and endpoint.

    The region and endpoint are read from the environment at each call, so one process can
    serve tests, the offline runtime (``AWS_ENDPOINT_URL``) and Lambda alike.

    Examples
    --------
    >>> aws_client("dynamodb") is aws_client("dynamodb")  # doctest: +SKIP
    True
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    endpoint = os.environ.get(f"AWS_ENDPOINT_URL_{service_name.upper()}") or os.environ.get("AWS_ENDPOINT_URL")
    key = (service_name, region, endpoint)
    found = _clients.get(key)
    if found is None:
        with _clients_lock:
            found = _clients.get(key)
            if found is None:
                # Imported here: the kit's runtime is imported by functions that never call AWS
                # from Python before their first invocation.
                import boto3

                # boto3's default session: the one ``boto3.client`` uses, so a client made
                # elsewhere in the process also shares its loader.
                found = boto3.client(service_name, region_name=region, endpoint_url=endpoint)  # type: ignore[call-overload]
                _clients[key] = found
    return found
