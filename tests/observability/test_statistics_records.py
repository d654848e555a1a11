"""statistics() answers a frozen record made at the call: read by attribute or by key, unchanged by later work."""
import dataclasses

import pytest

import lambdalab as ll


def test_component_statistics_are_frozen_snapshots():
    lab = ll.Lab(seed=1)
    lab.create_function("f", None, duration=0.1)
    before = lab.fleet.statistics()
    lab.client("lambda").invoke(FunctionName="f")
    after = lab.fleet.statistics()
    assert before.environments == 0 and after["environments"] == after.environments == 1
    assert dict(after) == after.as_dict() and after.by_state == {"Idle": 1} and after.idle == 1
    env = next(iter(lab.fleet.environments.values()))
    record = env.statistics()
    assert (record.state, record.invocations, record["worker"]) == ("Idle", 1, env.worker.id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.state = "Gone"
    with pytest.raises(KeyError):
        record["no_such_field"]
    assert lab.frontend.statistics().in_use == {"f": 0}
    assert lab.fleet.placement.statistics().workers == 1 == env.worker.statistics()["environments"]


def test_event_sources_async_and_the_environments_apis_answer_records_too():
    from lambdalab.observability.records import Statistics
    from lambdalab.sandbox.extensions import Extension
    from lambdalab.sandbox.telemetry import Subscription

    lab = ll.Lab(seed=1)
    lab.create_function("f", "def handler(event, context):\n    return 1\n",
                        extensions=[Extension("shipper", telemetry=Subscription(destination=lambda batch: None))])
    sqs, lam = lab.client("sqs"), lab.client("lambda")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    uuid = lam.create_event_source_mapping(FunctionName="f", EventSourceArn=arn, BatchSize=10)["UUID"]
    sqs.send_message(QueueUrl=url, MessageBody="hi")
    lam.invoke(FunctionName="f", InvocationType="Event")
    lab.advance(60)
    mapping = lab.event_sources.statistics()[uuid]            # as lab 04 reads it
    assert (mapping["batches"], mapping.deleted, mapping.uuid, mapping.state) == (1, 1, uuid, "Enabled")
    assert "batches" in mapping and "nothing" not in mapping and mapping.get("nothing", 0) == 0   # as a dict reads
    assert list(mapping)[:3] == ["uuid", "state", "batches"] and dict(mapping.items()) == mapping.as_dict()
    queue = lab.sqs.statistics()["q"]
    assert (queue.sent, queue["deleted"], queue.visible) == (1, 1, 0)
    done = lab.async_invoke.statistics()
    assert done["accepted"] == done.succeeded == 1 and done.conditions == {"Success": 1} and done.queued == 0
    env = next(iter(lab.fleet.environments.values()))
    assert env.api.statistics()["state"] == "ResponseSent"           # frozen after its last response
    assert env.extensions_api.statistics().registered[0][:2] == ("shipper", "external")
    assert env.telemetry.statistics().subscribers == ("shipper",)
    records = [mapping, queue, done, env.api.statistics(), env.extensions_api.statistics(),
               env.telemetry.statistics(), lab.s3.statistics(), lab.sns.statistics()]
    for record in records:
        assert isinstance(record, Statistics) and dict(record) == record.as_dict()
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.__setattr__(next(iter(record.keys())), None)
    lam.delete_event_source_mapping(UUID=uuid)
    assert lab.event_sources.statistics()[uuid].state == "Deleting"
