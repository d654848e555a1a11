"""CreateEventSourceMapping and friends: AWS's defaults, ranges, messages and states (REFERENCE.md §7)."""
from __future__ import annotations

import datetime

import pytest
from botocore.exceptions import ParamValidationError

import lambdalab as ll

HANDLER = "def handler(event, context):\n    return None\n"


@pytest.fixture
def env():
    lab = ll.Lab(seed=3)
    lab.create_function("fn", HANDLER)
    sqs, kinesis, lam = lab.client("sqs"), lab.client("kinesis"), lab.client("lambda")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    fifo = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    kinesis.create_stream(StreamName="s", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="s")
    arns = {
        "sqs": sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        "fifo": sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"],
        "kinesis": kinesis.describe_stream(StreamName="s")["StreamDescription"]["StreamARN"],
    }
    return lab, lam, arns


def test_kinesis_mapping_defaults_and_state_transitions(env):
    lab, lam, arns = env
    created = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["kinesis"],
                                              StartingPosition="LATEST")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    expected = {"BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
                "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
                "StartingPosition": "LATEST", "FunctionResponseTypes": [], "TumblingWindowInSeconds": 0,
                "DestinationConfig": {"OnFailure": {}}, "LastProcessingResult": "No records processed",
                "StateTransitionReason": "User action", "State": "Creating",
                "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:fn",
                "EventSourceArn": arns["kinesis"]}
    assert {k: created[k] for k in expected} == expected
    assert isinstance(created["LastModified"], datetime.datetime)
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")
    lab.advance(10)
    assert lam.get_event_source_mapping(UUID=created["UUID"])["State"] == "Enabled"
    states = [s.detail["state"] for s in lab.trace.filter(component="event_source_mapping", action="state")]
    assert states == ["Creating", "Enabled"]


def test_sqs_mapping_defaults(env):
    lab, lam, arns = env
    created = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"])
    assert created["BatchSize"] == 10 and created["MaximumBatchingWindowInSeconds"] == 0
    assert created["StateTransitionReason"] == "USER_INITIATED"
    for stream_only in ("StartingPosition", "ParallelizationFactor", "MaximumRetryAttempts", "LastProcessingResult",
                        "BisectBatchOnFunctionError"):
        assert stream_only not in created


WINDOW = "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10"


def _range(value, field, bound, lo=True):
    word = "greater than or equal to" if lo else "less than or equal to"
    return (f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
            f"Member must have value {word} {bound}")


CASES = [
    ("sqs", {"BatchSize": 11}, "InvalidParameterValueException", WINDOW),
    ("sqs", {"BatchSize": 0}, "ValidationException", _range(0, "batchSize", 1)),
    ("sqs", {"BatchSize": 10001, "MaximumBatchingWindowInSeconds": 1}, "ValidationException",
     _range(10001, "batchSize", 10000, lo=False)),
    ("sqs", {"MaximumBatchingWindowInSeconds": 301}, "ValidationException",
     _range(301, "maximumBatchingWindowInSeconds", 300, lo=False)),
    ("sqs", {"MaximumBatchingWindowInSeconds": -1}, "ValidationException",
     _range(-1, "maximumBatchingWindowInSeconds", 0)),
    ("fifo", {"BatchSize": 11, "MaximumBatchingWindowInSeconds": 1}, "InvalidParameterValueException",
     "Batch size cannot be greater than 10 for an SQS FIFO queue."),
    ("sqs", {"ScalingConfig": {"MaximumConcurrency": 1}}, "ValidationException",
     _range(1, "scalingConfig.maximumConcurrency", 2)),
    ("sqs", {"ScalingConfig": {"MaximumConcurrency": 1001}}, "ValidationException",
     _range(1001, "scalingConfig.maximumConcurrency", 1000, lo=False)),
    ("sqs", {"StartingPosition": "LATEST"}, "InvalidParameterValueException",
     "Unsupported starting position for arn type: {arn}"),
    ("sqs", {"DestinationConfig": {"OnFailure": {"Destination": "x"}}}, "InvalidParameterValueException",
     "Unsupported DestinationConfig parameter for given event source mapping type."),
    ("kinesis", {"StartingPosition": None}, "InvalidParameterValueException",
     "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
     "Member must not be null."),
    ("kinesis", {"StartingPosition": "EARLIEST"}, "ValidationException",
     "1 validation error detected: Value 'EARLIEST' at 'startingPosition' failed to satisfy constraint: Member "
     "must satisfy enum value set: [LATEST, AT_TIMESTAMP, TRIM_HORIZON]"),
    ("kinesis", {"ParallelizationFactor": 11}, "ValidationException",
     _range(11, "parallelizationFactor", 10, lo=False)),
    ("kinesis", {"ParallelizationFactor": 0}, "ValidationException", _range(0, "parallelizationFactor", 1)),
    ("kinesis", {"MaximumRetryAttempts": -2}, "ValidationException", _range(-2, "maximumRetryAttempts", -1)),
    ("kinesis", {"MaximumRetryAttempts": 10001}, "ValidationException",
     _range(10001, "maximumRetryAttempts", 10000, lo=False)),
    ("kinesis", {"MaximumRecordAgeInSeconds": 30}, "ValidationException",
     _range(30, "maximumRecordAgeInSeconds", 60)),
    ("kinesis", {"MaximumRecordAgeInSeconds": 604801}, "ValidationException",
     _range(604801, "maximumRecordAgeInSeconds", 604800, lo=False)),
    ("kinesis", {"DestinationConfig": {"OnSuccess": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}}},
     "InvalidParameterValueException", "Unsupported DestinationConfig parameter for given event source mapping type."),
    ("kinesis", {"FunctionResponseTypes": ["Everything"]}, "ValidationException",
     "1 validation error detected: Value '[Everything]' at 'functionResponseTypes' failed to satisfy "
     "constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"),
    ("kinesis", {"FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}, "InvalidParameterValueException",
     "Invalid filter pattern definition."),
    ("kinesis", {"FilterCriteria": {"Filters": [{"Pattern": '{"data": {"kind": "order"}}'}]}},
     "InvalidParameterValueException", "Invalid filter pattern definition."),
]


@pytest.mark.parametrize("source, params, code, message", CASES)
def test_create_refuses_with_aws_code_and_message(env, source, params, code, message):
    lab, lam, arns = env
    request = {"FunctionName": "fn", "EventSourceArn": arns[source]}
    if source == "kinesis":
        request["StartingPosition"] = "LATEST"
    request.update(params)
    request = {k: v for k, v in request.items() if v is not None}
    with pytest.raises((ll.ClientError, ParamValidationError)) as caught:
        lam.create_event_source_mapping(**request)
    if isinstance(caught.value, ParamValidationError):
        # below the model's minimum: botocore refuses it before sending; the service keeps its own check
        assert "valid min value" in str(caught.value)
        with pytest.raises(ll.ClientError) as caught:
            lab.event_sources.create_event_source_mapping(**request)
    assert caught.value.response["Error"]["Code"] == code
    assert caught.value.response["Error"]["Message"] == message.format(arn=arns[source])
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []      # a refused call stores nothing


def test_missing_function_queue_stream_and_duplicates(env):
    lab, lam, arns = env
    with pytest.raises(lam.exceptions.InvalidParameterValueException, match="^.*Function does not exist$"):
        lam.create_event_source_mapping(FunctionName="nope", EventSourceArn=arns["sqs"])
    gone = arns["sqs"] + "-gone"
    with pytest.raises(ll.ClientError, match="AWS.SimpleQueueService.NonExistentQueue"):
        lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=gone)
    stream = arns["kinesis"] + "x"
    with pytest.raises(ll.ClientError) as caught:
        lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=stream, StartingPosition="LATEST")
    assert caught.value.response["Error"]["Message"] == f"Stream not found: {stream}"
    first = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"])
    with pytest.raises(lam.exceptions.ResourceConflictException) as caught:
        lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"])
    assert caught.value.response["Error"]["Message"].endswith(f"existing mapping with UUID {first['UUID']}")


def test_queue_visibility_timeout_must_cover_function_timeout(env):
    lab, lam, arns = env
    lam.update_function_configuration(FunctionName="fn", Timeout=60)
    lab.advance(5)
    with pytest.raises(ll.ClientError) as caught:
        lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"])
    assert caught.value.response["Error"]["Message"] == \
        "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds"


def test_update_disable_enable_delete_states(env):
    lab, lam, arns = env
    uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"])["UUID"]
    with pytest.raises(lam.exceptions.ResourceInUseException):
        lam.update_event_source_mapping(UUID=uuid, BatchSize=5)          # still Creating
    lab.advance(5)
    updated = lam.update_event_source_mapping(UUID=uuid, BatchSize=5)
    assert (updated["State"], updated["BatchSize"]) == ("Updating", 5)
    lab.advance(5)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    lab.advance(5)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Disabled"
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    lab.advance(5)
    assert lam.get_event_source_mapping(UUID=uuid)["State"] == "Enabled"
    assert lam.delete_event_source_mapping(UUID=uuid)["State"] == "Deleting"
    lab.advance(5)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as caught:
        lam.get_event_source_mapping(UUID=uuid)
    assert caught.value.response["Error"]["Message"] == "The resource you requested does not exist."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_refused_update_changes_nothing(env):
    lab, lam, arns = env
    uuid = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"], BatchSize=7)["UUID"]
    lab.advance(5)
    with pytest.raises(ll.ClientError, match="Maximum batch window"):
        lam.update_event_source_mapping(UUID=uuid, BatchSize=50)
    after = lam.get_event_source_mapping(UUID=uuid)
    assert (after["BatchSize"], after["State"]) == (7, "Enabled")


def test_list_filters_by_function_and_source(env):
    lab, lam, arns = env
    lab.create_function("other", HANDLER)
    a = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"])["UUID"]
    b = lam.create_event_source_mapping(FunctionName="other", EventSourceArn=arns["kinesis"],
                                        StartingPosition="TRIM_HORIZON")["UUID"]
    listed = lambda **kw: [m["UUID"] for m in lam.list_event_source_mappings(**kw)["EventSourceMappings"]]
    assert listed() == [a, b]
    assert listed(FunctionName="other") == [b]
    assert listed(EventSourceArn=arns["sqs"]) == [a]


def test_latest_skips_records_written_while_creating(env):
    lab, lam, arns = env
    kinesis = lab.client("kinesis")
    lab.create_function("echo", "def handler(event, context):\n    print(len(event['Records']))\n")
    lam.create_event_source_mapping(FunctionName="echo", EventSourceArn=arns["kinesis"], StartingPosition="LATEST")
    kinesis.put_record(StreamName="s", Data=b"early", PartitionKey="k")      # the mapping is still Creating
    lab.advance(10)
    kinesis.put_record(StreamName="s", Data=b"late", PartitionKey="k")
    lab.advance(10)
    invokes = lab.trace.filter(component="event_source_mapping", action="invoke")
    assert [s.detail["batch_size"] for s in invokes] == [1]
    assert lab.stats("echo")["invocations"] == 1


def test_disabled_mapping_stops_polling_and_resumes_from_its_checkpoint(env):
    lab, lam, arns = env
    kinesis = lab.client("kinesis")
    lab.create_function("echo", "def handler(event, context):\n    return len(event['Records'])\n")
    uuid = lam.create_event_source_mapping(FunctionName="echo", EventSourceArn=arns["kinesis"],
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    lab.advance(5)
    kinesis.put_record(StreamName="s", Data=b"1", PartitionKey="k")
    lab.advance(5)
    lam.update_event_source_mapping(UUID=uuid, Enabled=False)
    lab.advance(5)
    kinesis.put_record(StreamName="s", Data=b"2", PartitionKey="k")
    lab.advance(30)
    assert lab.stats("echo")["invocations"] == 1
    lam.update_event_source_mapping(UUID=uuid, Enabled=True)
    lab.advance(10)
    assert lab.stats("echo")["invocations"] == 2


def test_unknown_parameters_are_refused_before_sending(env):
    lab, lam, arns = env
    with pytest.raises(ParamValidationError, match='Unknown parameter in input: "Batchsize"'):
        lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"], Batchsize=5)


def test_a_mapping_on_an_alias_invokes_that_alias(env):
    lab, lam, arns = env
    lab.create_function("versioned", "def handler(event, context):\n    return len(event['Records'])\n")
    version = lam.publish_version(FunctionName="versioned")["Version"]
    lam.create_alias(FunctionName="versioned", Name="live", FunctionVersion=version)
    created = lam.create_event_source_mapping(FunctionName="versioned:live", EventSourceArn=arns["sqs"])
    assert created["FunctionArn"].endswith(":function:versioned:live")
    lab.advance(5)
    sqs = lab.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="q")["QueueUrl"], MessageBody="hi")
    lab.advance(10)
    assert any(f"Version: {version}" in line for line in lab.logs("versioned") if line.startswith("START"))


def test_created_disabled_mapping_never_polls(env):
    lab, lam, arns = env
    created = lam.create_event_source_mapping(FunctionName="fn", EventSourceArn=arns["sqs"], Enabled=False)
    assert created["State"] == "Creating"
    sqs = lab.client("sqs")
    sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName="q")["QueueUrl"], MessageBody="waits")
    lab.advance(30)
    assert lam.get_event_source_mapping(UUID=created["UUID"])["State"] == "Disabled"
    assert lab.stats("fn")["requests"] == 0
