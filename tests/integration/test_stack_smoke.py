"""The real parts the suite runs against answer, and are set up the way the case workflow needs."""

import asyncio
import smtplib
from email.message import EmailMessage

import pytest
import sqlalchemy
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.testing import WorkflowEnvironment

from tests.helpers import SmtpSink
from worker.search_attribute_registry import SEARCH_ATTRIBUTES


async def test_dev_server_registers_every_case_search_attribute(dev_server_env: WorkflowEnvironment) -> None:
    client = dev_server_env.client
    assert await client.service_client.check_health()

    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    registered = {
        name: IndexedValueType.Name(value_type).removeprefix("INDEXED_VALUE_TYPE_")
        for name, value_type in response.custom_attributes.items()
    }
    expected = {name: attribute_type.upper() for name, attribute_type in SEARCH_ATTRIBUTES}
    assert {name: registered.get(name) for name in expected} == expected


async def test_time_skipping_server_answers(time_skipping_env: WorkflowEnvironment) -> None:
    client = time_skipping_env.client
    description = await client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=client.namespace)
    )
    assert description.namespace_info.name == client.namespace
    assert time_skipping_env.supports_time_skipping


def _send(sink: SmtpSink, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "mappa-noreply@example.gov.uk"
    message["To"] = "duty-manager@probation.example.gov.uk"
    message["Subject"] = subject
    message.set_content("A level 2 meeting is due.")
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(message)


async def test_smtp_server_records_mail_and_comes_back_on_the_same_port(smtp_server: SmtpSink) -> None:
    await asyncio.to_thread(_send, smtp_server, "first")
    (first,) = await smtp_server.wait_for(1)
    assert first["Subject"] == "first"
    assert first["X-RcptTo"] == "duty-manager@probation.example.gov.uk"

    smtp_server.stop()
    with pytest.raises(OSError):
        await asyncio.to_thread(_send, smtp_server, "while down")

    smtp_server.start()
    await asyncio.to_thread(_send, smtp_server, "second")
    messages = await smtp_server.wait_for(2)
    assert [message["Subject"] for message in messages] == ["first", "second"]


async def test_smtp_wait_for_reports_what_arrived_when_too_little_did(smtp_server: SmtpSink) -> None:
    with pytest.raises(AssertionError, match="expected 1 message"):
        await smtp_server.wait_for(1, timeout=0.2)


def test_postgres_url_connects(postgres_url: str) -> None:
    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sqlalchemy.text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()
