"""Event source mappings: Lambda's own pollers that read a queue or a stream and invoke your function.

An event source mapping (ESM) is a control-plane resource (CreateEventSourceMapping) that tells Lambda to run a
poller for one source and one function. Unlike the other two invocation types, nobody calls Invoke: Lambda's
poller reads the source, gathers records into a batch (until it is full, the batching window ends or the
payload reaches 6 MB), drops records that match no filter, and invokes the function synchronously through the
frontend with ``{"Records": [...]}``. What happens after the function answers depends on the source: an SQS
poller deletes what succeeded and lets the rest become visible again; a stream poller moves its per-shard
checkpoint forward, or retries, bisects and finally discards a failing batch (``stream_poller.py``,
``sqs_poller.py``).

This module is the control plane: the API's parameters, defaults, ranges and messages, and the mapping's state
machine. Creating, Enabling, Disabling, Updating and Deleting are timed transitions in virtual time (a few
seconds in AWS; ``STATE_SECONDS`` here); a mapping only polls while Enabled. With ``StartingPosition=LATEST``
the position is taken when the poller starts, so records written while the mapping is still Creating are
never read, as in AWS.

What we simplify: sources are SQS queues and Kinesis streams of this lab (no DynamoDB streams, Kafka, MQ or
DocumentDB); on-failure destinations are SQS queues; tumbling windows, provisioned pollers, metrics configs and
tags are not modelled (asking for them is refused rather than silently ignored).
"""
from __future__ import annotations

import copy
import datetime as _dt

from ..control_plane.errors import aws_error
from ..control_plane.pagination import paginate
from ..control_plane.validation import check_function_name, split_qualifier
from .batches import MAX_PAYLOAD, MappingStatistics, batch_item_failures, invoke_batch
from .filters import FilterSet
from .sqs_poller import SQSPoller
from .stream_poller import StreamPoller

__all__ = ["EventSourceMappings", "EventSourceMapping", "attach", "invoke_batch", "batch_item_failures",
           "MAX_PAYLOAD"]

STATE_SECONDS = 2.0                    # how long Creating / Enabling / Updating / ... last
STARTING_POSITIONS = ("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON")
STREAM_ONLY = ("StartingPosition", "StartingPositionTimestamp", "ParallelizationFactor", "MaximumRetryAttempts",
               "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError", "DestinationConfig",
               "TumblingWindowInSeconds")
CREATE_PARAMS = ("FunctionName", "EventSourceArn", "Enabled", "BatchSize", "FilterCriteria",
                 "MaximumBatchingWindowInSeconds", "ParallelizationFactor", "StartingPosition",
                 "StartingPositionTimestamp", "DestinationConfig", "MaximumRecordAgeInSeconds",
                 "BisectBatchOnFunctionError", "MaximumRetryAttempts", "TumblingWindowInSeconds",
                 "FunctionResponseTypes", "ScalingConfig", "Tags")
UPDATE_PARAMS = ("UUID", "FunctionName", "Enabled", "BatchSize", "FilterCriteria", "MaximumBatchingWindowInSeconds",
                 "DestinationConfig", "MaximumRecordAgeInSeconds", "BisectBatchOnFunctionError",
                 "MaximumRetryAttempts", "ParallelizationFactor", "TumblingWindowInSeconds", "FunctionResponseTypes",
                 "ScalingConfig")
# parameter -> (field name in AWS's messages, low, high)
RANGES = {
    "BatchSize": ("batchSize", 1, 10_000),
    "MaximumBatchingWindowInSeconds": ("maximumBatchingWindowInSeconds", 0, 300),
    "ParallelizationFactor": ("parallelizationFactor", 1, 10),
    "MaximumRetryAttempts": ("maximumRetryAttempts", -1, 10_000),
    "MaximumRecordAgeInSeconds": ("maximumRecordAgeInSeconds", -1, 604_800),
    "TumblingWindowInSeconds": ("tumblingWindowInSeconds", 0, 900),
}
TRANSIENT = ("Creating", "Enabling", "Disabling", "Updating", "Deleting")


def _invalid(message: str, operation: str):
    return aws_error("InvalidParameterValueException", message, 400, operation=operation)


def _validation(value, field: str, constraint: str, operation: str):
    return aws_error("ValidationException", f"1 validation error detected: Value {value} at '{field}' failed to "
                     f"satisfy constraint: {constraint}", 400, operation=operation)


def _known(params: dict, allowed: tuple, operation: str) -> None:
    """Parameters of the operation we do not model (Kafka, DocumentDB, metrics...) are refused, not ignored."""
    unknown = sorted(p for p in params if p not in allowed)
    if unknown:
        raise _invalid(f"Unsupported parameter(s) in lambdalab: {', '.join(unknown)}", operation)


def _check_int(params: dict, name: str, operation: str) -> None:
    """botocore checks the types and the low ends its model knows; the service checks the ranges."""
    if name not in params:
        return
    value = params[name]
    field, lo, hi = RANGES[name]
    if value < lo:
        raise _validation(f"'{value}'", field, f"Member must have value greater than or equal to {lo}", operation)
    if value > hi:
        raise _validation(f"'{value}'", field, f"Member must have value less than or equal to {hi}", operation)


class EventSourceMapping:
    """One mapping: its configuration (AWS's field names), its state and its poller."""

    def __init__(self, manager: "EventSourceMappings", uuid: str, kind: str, config: dict,
                 filters: FilterSet) -> None:
        self.manager = manager
        self.lab = manager.lab
        self.uuid = uuid
        self.kind = kind                  # "sqs" | "kinesis"
        self.config = config
        self.state = "Creating"
        self.target = "Enabled"           # the state the current transition ends in
        self.filters = filters
        self.poller = None
        self.last_modified = self.lab.now
        self.last_processing_result = "No records processed"
        self._transition = None

    # what the pollers read -------------------------------------------------------------------------------
    @property
    def function_name(self) -> str:
        return split_qualifier(self.config["FunctionArn"].split(":function:", 1)[1])[0]

    @property
    def qualifier(self) -> str | None:
        return split_qualifier(self.config["FunctionArn"].split(":function:", 1)[1])[1]

    @property
    def running(self) -> bool:
        return self.state == "Enabled" or (self.state == "Updating" and self.target == "Enabled")

    @property
    def report_failures(self) -> bool:
        return "ReportBatchItemFailures" in self.config.get("FunctionResponseTypes", [])

    def trace(self, action: str, text: str, **detail) -> None:
        lab = self.lab
        if lab.trace.full:
            lab.trace.emit("event_source_mapping", action, "{}", text, function=self.function_name, uuid=self.uuid,
                           **detail)

    def configuration(self) -> dict:
        out = {"UUID": self.uuid}
        out.update(self.config)
        out["LastModified"] = _dt.datetime.fromtimestamp(self.lab.epoch + self.last_modified, _dt.timezone.utc)
        out["State"] = self.state
        out["StateTransitionReason"] = "USER_INITIATED" if self.kind == "sqs" else "User action"
        if self.kind != "sqs":
            out["LastProcessingResult"] = self.last_processing_result
        out["EventSourceMappingArn"] = (f"arn:aws:lambda:{self.lab.region}:{self.lab.account_id}:"
                                        f"event-source-mapping:{self.uuid}")
        return copy.deepcopy(out)

    def statistics(self) -> MappingStatistics:
        """Its poller's record (``SQSMappingStatistics``, ``StreamMappingStatistics``), or uuid and state alone."""
        return self.poller.statistics() if self.poller is not None else MappingStatistics(self.uuid, self.state)

    def __repr__(self) -> str:
        return f"<EventSourceMapping {self.uuid} {self.kind} -> {self.function_name} {self.state}>"


class EventSourceMappings:
    """``lab.event_sources``: the ESM API the Lambda client forwards to, and the registry of mappings."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.mappings: dict[str, EventSourceMapping] = {}

    # --- helpers ------------------------------------------------------------------------------------------
    def _source_kind(self, arn, operation: str) -> str:
        parts = arn.split(":") if isinstance(arn, str) else []
        if len(parts) >= 6 and parts[2] == "sqs":
            return "sqs"
        if len(parts) >= 6 and parts[2] == "kinesis" and parts[5].startswith("stream/"):
            return "kinesis"
        raise _invalid(f"Unrecognized event source, must be kinesis, dynamodb stream or sqs. Unsupported source "
                       f"arn : {arn}", operation)

    def _source_exists(self, kind: str, arn: str, function_arn: str, operation: str) -> None:
        if kind == "sqs":
            sqs = getattr(self.lab, "sqs", None)
            queue = sqs.queue_by_arn(arn) if sqs is not None else None
            if queue is None:
                raise _invalid("Error occurred while ReceiveMessage. SQS Error Code: "
                               "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified queue "
                               "does not exist.", operation)
            fn = self.lab.control_plane.functions[split_qualifier(function_arn.split(":function:", 1)[1])[0]]
            visibility, timeout = queue.number("VisibilityTimeout"), fn.latest.config["Timeout"]
            if visibility < timeout:       # a message could come back while the function still works on it
                raise _invalid(f"Queue visibility timeout: {visibility} seconds is less than Function timeout: "
                               f"{timeout} seconds", operation)
        elif self.lab.kinesis.stream_by_arn(arn) is None:
            raise _invalid(f"Stream not found: {arn}", operation)

    def _function_arn(self, name, operation: str) -> str:
        bare = check_function_name(name, operation)
        _, qualifier = split_qualifier(name)
        fn = self.lab.control_plane.functions.get(bare)
        if fn is None or (qualifier not in (None, "$LATEST") and qualifier not in fn.aliases
                          and qualifier not in fn.versions):
            raise _invalid("Function does not exist", operation)
        return fn.arn + (f":{qualifier}" if qualifier else "")

    def _mapping(self, uuid, operation: str) -> EventSourceMapping:
        mapping = self.mappings.get(uuid)
        if mapping is None:
            raise aws_error("ResourceNotFoundException", "The resource you requested does not exist.", 404,
                            operation=operation)
        return mapping

    def _validate(self, kind: str, arn: str, config: dict, given: dict, operation: str) -> None:
        """Check a whole (merged) configuration; raise before anything is stored."""
        for name in RANGES:
            _check_int(given, name, operation)
        if kind == "sqs":
            for name in STREAM_ONLY:
                if name in given:
                    if name == "DestinationConfig":
                        raise _invalid("Unsupported DestinationConfig parameter for given event source mapping "
                                       "type.", operation)
                    if name.startswith("StartingPosition"):
                        raise _invalid(f"Unsupported starting position for arn type: {arn}", operation)
                    raise _invalid(f"Unsupported {name} parameter for given event source mapping type.", operation)
            fifo = arn.endswith(".fifo")
            if fifo and config["BatchSize"] > 10:
                raise _invalid("Batch size cannot be greater than 10 for an SQS FIFO queue.", operation)
            if config["BatchSize"] > 10 and config["MaximumBatchingWindowInSeconds"] == 0:
                raise _invalid("Maximum batch window in seconds must be greater than 0 if maximum batch size is "
                               "greater than 10", operation)
            scaling = given.get("ScalingConfig")
            if scaling is not None:
                value = scaling.get("MaximumConcurrency")
                if value is not None and value < 2:
                    raise _validation(f"'{value}'", "scalingConfig.maximumConcurrency",
                                      "Member must have value greater than or equal to 2", operation)
                if value is not None and value > 1000:
                    raise _validation(f"'{value}'", "scalingConfig.maximumConcurrency",
                                      "Member must have value less than or equal to 1000", operation)
        else:
            if "ScalingConfig" in given:
                raise _invalid("Unsupported ScalingConfig parameter for given event source mapping type.", operation)
            if operation == "CreateEventSourceMapping":
                position = given.get("StartingPosition")
                if position is None:
                    raise _invalid("1 validation error detected: Value null at 'startingPosition' failed to "
                                   "satisfy constraint: Member must not be null.", operation)
                if position not in STARTING_POSITIONS:
                    raise _validation(f"'{position}'", "startingPosition", "Member must satisfy enum value set: "
                                      f"[{', '.join(STARTING_POSITIONS)}]", operation)
                if position == "AT_TIMESTAMP" and given.get("StartingPositionTimestamp") is None:
                    raise _invalid("StartingPositionTimestamp must be provided when StartingPosition is "
                                   "AT_TIMESTAMP.", operation)
            age = config["MaximumRecordAgeInSeconds"]
            if age != -1 and age < 60:
                raise _validation(f"'{age}'", "maximumRecordAgeInSeconds",
                                  "Member must have value greater than or equal to 60", operation)
            if config.get("TumblingWindowInSeconds", 0):
                raise _invalid("lambdalab does not model tumbling windows; leave TumblingWindowInSeconds at 0.",
                               operation)
            destination = config.get("DestinationConfig", {})
            if destination.get("OnSuccess"):
                raise _invalid("Unsupported DestinationConfig parameter for given event source mapping type.",
                               operation)
            target = destination.get("OnFailure", {}).get("Destination")
            if target is not None and (not isinstance(target, str) or target.split(":")[2:3] != ["sqs"]):
                raise _invalid("lambdalab delivers on-failure records to SQS queues only: give an SQS queue ARN "
                               "as DestinationConfig.OnFailure.Destination.", operation)
        types_ = config.get("FunctionResponseTypes", [])
        if not isinstance(types_, list) or any(t != "ReportBatchItemFailures" for t in types_):
            shown = f"[{', '.join(map(str, types_))}]" if isinstance(types_, list) else types_
            raise _validation(f"'{shown}'", "functionResponseTypes", "Member must satisfy constraint: [Member "
                              "must satisfy enum value set: [ReportBatchItemFailures]]", operation)

    # --- the API ------------------------------------------------------------------------------------------
    def create_event_source_mapping(self, **params) -> dict:
        op = "CreateEventSourceMapping"
        _known(params, CREATE_PARAMS, op)
        if "EventSourceArn" not in params:
            raise _invalid("Unrecognized event source.", op)
        arn = params["EventSourceArn"]
        kind = self._source_kind(arn, op)
        function_arn = self._function_arn(params["FunctionName"], op)
        filters = FilterSet(params.get("FilterCriteria"), op)
        config = self._defaults(kind, arn, function_arn)
        config.update({k: v for k, v in params.items() if k not in ("FunctionName", "Enabled", "Tags")})
        self._validate(kind, arn, config, params, op)
        if params.get("Tags"):
            raise _invalid("lambdalab does not model tags on event source mappings.", op)
        self._source_exists(kind, arn, function_arn, op)
        for other in self.mappings.values():
            if other.config["EventSourceArn"] == arn and other.config["FunctionArn"] == function_arn:
                name = params["FunctionName"]
                if kind == "sqs":
                    message = (f'An event source mapping with SQS arn (" {arn} ") and function (" {name} ") '
                               f"already exists. Please update or delete the existing mapping with UUID "
                               f"{other.uuid}")
                else:
                    message = (f'The event source arn (" {arn} ") and function (" {name} ") provided mapping '
                               f"already exists. Please update or delete the existing mapping with UUID "
                               f"{other.uuid}")
                raise aws_error("ResourceConflictException", message, 409, operation=op)
        if "StartingPositionTimestamp" in config:
            config["StartingPositionTimestamp"] = self.lab.kinesis.timestamp(
                self.lab.kinesis.virtual_time(config["StartingPositionTimestamp"]))
        mapping = EventSourceMapping(self, self.lab.ids.uuid(), kind, config, filters)
        self.mappings[mapping.uuid] = mapping
        mapping.trace("state", f"Create mapping {mapping.uuid[:8]}: {arn.split(':')[-1]} -> "
                      f"{mapping.function_name} (Creating)", state="Creating")
        final = "Enabled" if params.get("Enabled", True) else "Disabled"
        self._transition(mapping, "Creating", final)
        return mapping.configuration()

    def _defaults(self, kind: str, arn: str, function_arn: str) -> dict:
        if kind == "sqs":
            return {"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "EventSourceArn": arn,
                    "FunctionArn": function_arn, "FunctionResponseTypes": []}
        return {"StartingPosition": None, "BatchSize": 100, "MaximumBatchingWindowInSeconds": 0,
                "ParallelizationFactor": 1, "EventSourceArn": arn, "FunctionArn": function_arn,
                "DestinationConfig": {"OnFailure": {}}, "MaximumRecordAgeInSeconds": -1,
                "BisectBatchOnFunctionError": False, "MaximumRetryAttempts": -1, "TumblingWindowInSeconds": 0,
                "FunctionResponseTypes": []}

    def get_event_source_mapping(self, *, UUID) -> dict:
        return self._mapping(UUID, "GetEventSourceMapping").configuration()

    def list_event_source_mappings(self, *, EventSourceArn=None, FunctionName=None, Marker=None,
                                   MaxItems=None) -> dict:
        found = []
        for mapping in self.mappings.values():
            if EventSourceArn is not None and mapping.config["EventSourceArn"] != EventSourceArn:
                continue
            if FunctionName is not None:
                name, qualifier = split_qualifier(FunctionName)
                if mapping.function_name != name or (qualifier and mapping.qualifier != qualifier):
                    continue
            found.append(mapping)
        page, marker = paginate(found, Marker, MaxItems, 100, "ListEventSourceMappings")
        out = {"EventSourceMappings": [m.configuration() for m in page]}
        if marker:
            out["NextMarker"] = marker
        return out

    def update_event_source_mapping(self, **params) -> dict:
        op = "UpdateEventSourceMapping"
        _known(params, UPDATE_PARAMS, op)
        mapping = self._mapping(params["UUID"], op)
        if mapping.state in TRANSIENT:
            raise aws_error("ResourceInUseException", "Cannot update the event source mapping because it is in "
                            f"use. The mapping is in the {mapping.state} state.", 400, operation=op)
        given = {k: v for k, v in params.items() if k != "UUID"}
        config = dict(mapping.config)
        if "FunctionName" in given:
            config["FunctionArn"] = self._function_arn(given["FunctionName"], op)
        config.update({k: v for k, v in given.items() if k not in ("FunctionName", "Enabled")})
        filters = FilterSet(config.get("FilterCriteria"), op) if "FilterCriteria" in given else mapping.filters
        self._validate(mapping.kind, config["EventSourceArn"], config, given, op)
        old_factor = mapping.config.get("ParallelizationFactor")
        mapping.config = config
        mapping.filters = filters
        mapping.last_modified = self.lab.now
        if "Enabled" in given and given["Enabled"] != (mapping.state == "Enabled"):
            passing, final = ("Enabling", "Enabled") if given["Enabled"] else ("Disabling", "Disabled")
        else:
            passing, final = "Updating", mapping.state
        mapping.trace("state", f"Update mapping {mapping.uuid[:8]} ({passing})", state=passing)
        if passing == "Disabling" and mapping.poller is not None:
            mapping.poller.stop()
        if mapping.poller is not None and config.get("ParallelizationFactor") != old_factor:
            mapping.poller.reconfigure()
        self._transition(mapping, passing, final)
        return mapping.configuration()

    def delete_event_source_mapping(self, *, UUID) -> dict:
        op = "DeleteEventSourceMapping"
        mapping = self._mapping(UUID, op)
        if mapping.state == "Deleting":
            raise aws_error("ResourceInUseException", "Cannot delete the event source mapping because it is in "
                            "use. The mapping is in the Deleting state.", 400, operation=op)
        self.lab.engine.cancel(mapping._transition)
        if mapping.poller is not None:
            mapping.poller.stop()
        mapping.state = "Deleting"
        mapping.trace("state", f"Delete mapping {mapping.uuid[:8]} (Deleting)", state="Deleting")
        config = mapping.configuration()
        mapping._transition = self.lab.engine.schedule(STATE_SECONDS, self._forget, mapping)
        return config

    # --- state machine ------------------------------------------------------------------------------------
    def _transition(self, mapping: EventSourceMapping, passing: str, final: str) -> None:
        mapping.state, mapping.target = passing, final
        mapping._transition = self.lab.engine.schedule(STATE_SECONDS, self._settle, mapping, final)

    def _settle(self, mapping: EventSourceMapping, final: str) -> None:
        mapping._transition = None
        mapping.state = final
        mapping.trace("state", f"Mapping {mapping.uuid[:8]} is {final}", state=final)
        if final == "Enabled":
            if mapping.poller is None:
                mapping.poller = self._new_poller(mapping)
            mapping.poller.start()

    def _forget(self, mapping: EventSourceMapping) -> None:
        self.mappings.pop(mapping.uuid, None)
        mapping.trace("state", f"Mapping {mapping.uuid[:8]} is deleted", state="Deleted")

    def _new_poller(self, mapping: EventSourceMapping):
        if mapping.kind == "sqs":
            return SQSPoller(mapping)
        return StreamPoller(mapping)

    def statistics(self) -> dict[str, MappingStatistics]:
        """Each mapping's record, by UUID."""
        return {uuid: m.statistics() for uuid, m in self.mappings.items()}


def attach(lab) -> None:
    lab.event_sources = EventSourceMappings(lab)
    lab.register_backend("lambda", lab.event_sources)
