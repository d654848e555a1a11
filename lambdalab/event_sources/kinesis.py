"""An in-process Kinesis Data Streams service: the backend of ``lab.client("kinesis")`` and ``lab.serve()``.

A Kinesis stream is a set of shards. Each shard owns a slice of the 128-bit hash-key space; a record goes to
the shard whose slice holds the MD5 of its partition key, so records with one key always share a shard and
keep their order there. Within a shard every record gets a sequence number that only grows (a decimal string
in the API). Readers ask for a shard iterator (from the oldest record kept, TRIM_HORIZON; from the end,
LATEST; at or after a sequence number; at a timestamp) and page through ``get_records``. Records stay for the
retention period (24 hours unless changed) and then disappear, read or not. That is what a stream event source
mapping reads: it keeps its own checkpoint per shard and never deletes anything.

What we simplify: no resharding (split/merge), no per-shard throughput limits (1 MB/s and 1,000 records/s
in) and no enhanced fan-out consumers; shard iterators do not expire; an on-demand stream simply has four
shards. A new stream is CREATING for a few virtual seconds, then ACTIVE. Pollers inside the lab do not use
iterators: they read a shard's record list directly and are told when a record arrives (``listeners``).
"""
from __future__ import annotations

import base64
import bisect
import datetime as _dt
import functools
import hashlib
import json
from dataclasses import dataclass

from ..control_plane import errors
from ..observability.records import Statistics

__all__ = ["KinesisService", "Stream", "StreamStatistics", "Shard", "StreamRecord", "attach"]

aws_error = functools.partial(errors.aws_error, service="kinesis")

HASH_SPACE = 2 ** 128
CREATE_SECONDS = 5.0                   # CREATING -> ACTIVE
DEFAULT_RETENTION_HOURS = 24
ON_DEMAND_SHARDS = 4
MAX_RECORD_BYTES = 1024 * 1024         # data + partition key
MAX_PUT_RECORDS = 500
SEQUENCE_BASE = 496 * 10 ** 53          # real sequence numbers are 56-digit decimals
ITERATOR_TYPES = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP")


class StreamRecord:
    """One record in a shard. ``seq`` is the sequence number as an int (the API shows it as a string)."""

    __slots__ = ("seq", "data", "partition_key", "arrival", "shard")

    def __init__(self, seq: int, data: bytes, partition_key: str, arrival: float, shard: "Shard") -> None:
        self.seq, self.data, self.partition_key, self.arrival, self.shard = seq, data, partition_key, arrival, shard

    @property
    def sequence_number(self) -> str:
        return str(self.seq)

    @property
    def size(self) -> int:
        return len(self.data) + len(self.partition_key.encode())

    def __repr__(self) -> str:
        return f"<StreamRecord {self.shard.shard_id} #{self.seq - SEQUENCE_BASE} key={self.partition_key!r}>"


class Shard:
    def __init__(self, stream: "Stream", index: int, start: int, end: int) -> None:
        self.stream = stream
        self.index = index
        self.shard_id = f"shardId-{index:012d}"
        self.start_hash, self.end_hash = start, end
        self.records: list[StreamRecord] = []
        self._seqs: list[int] = []           # parallel to records, for bisect
        self.first_seq = SEQUENCE_BASE + 1    # no record of the stream is numbered lower

    def trim(self, now: float) -> None:
        """Drop records older than the retention period (they are gone whether anyone read them or not)."""
        horizon = now - self.stream.retention_hours * 3600
        cut = 0
        while cut < len(self.records) and self.records[cut].arrival < horizon:
            cut += 1
        if cut:
            del self.records[:cut]
            del self._seqs[:cut]

    def after(self, seq: int, now: float, limit: int | None = None) -> list[StreamRecord]:
        """Records with a sequence number above ``seq`` (oldest first), at most ``limit``."""
        self.trim(now)
        i = bisect.bisect_right(self._seqs, seq)
        return self.records[i:] if limit is None else self.records[i:i + limit]

    def iter_after(self, seq: int, now: float):
        """Like ``after`` without copying: records past ``seq``, oldest first (do not append while iterating)."""
        self.trim(now)
        records = self.records
        for i in range(bisect.bisect_right(self._seqs, seq), len(records)):
            yield records[i]

    def last_seq(self) -> int:
        return self._seqs[-1] if self._seqs else self.first_seq

    def seq_before_time(self, t: float) -> int:
        """The position just before the first record that arrived at or after ``t``."""
        last = self.first_seq - 1
        for record in self.records:
            if record.arrival >= t:
                break
            last = record.seq
        return last

    def append(self, record: StreamRecord) -> None:
        self.records.append(record)
        self._seqs.append(record.seq)


class Stream:
    def __init__(self, service: "KinesisService", name: str, shard_count: int, mode: str) -> None:
        self.service = service
        self.name = name
        self.arn = f"arn:aws:kinesis:{service.lab.region}:{service.lab.account_id}:stream/{name}"
        self.mode = mode
        self.status = "CREATING"
        self.created = service.lab.now
        self.retention_hours = DEFAULT_RETENTION_HOURS
        self._counter = 0
        width = HASH_SPACE // shard_count
        self.shards = [Shard(self, i, i * width, HASH_SPACE - 1 if i == shard_count - 1 else (i + 1) * width - 1)
                       for i in range(shard_count)]
        #: called with (stream, shard) after each record lands: idle pollers wake up on it
        self.listeners: list = []

    def next_sequence(self) -> int:
        self._counter += 1
        return SEQUENCE_BASE + self._counter

    def shard_for(self, partition_key: str, explicit_hash_key: str | None = None) -> Shard:
        value = int(explicit_hash_key) if explicit_hash_key is not None else \
            int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")
        for shard in self.shards:
            if shard.start_hash <= value <= shard.end_hash:
                return shard
        return self.shards[-1]

    def shard(self, shard_id: str) -> Shard | None:
        return next((s for s in self.shards if s.shard_id == shard_id), None)


class KinesisService:
    """The streams of one lab (``lab.kinesis``), with the API's checks and errors."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.streams: dict[str, Stream] = {}
        self._iterators: dict[str, tuple] = {}

    # --- lookups ------------------------------------------------------------------------------------------
    def _not_found(self, name: str, operation: str):
        return aws_error("ResourceNotFoundException", f"Stream {name} under account {self.lab.account_id} not "
                         "found.", 400, operation=operation)

    def stream(self, params: dict, operation: str, active: bool = False) -> Stream:
        name = params.get("StreamName")
        if name is None and params.get("StreamARN"):
            name = params["StreamARN"].rsplit("/", 1)[-1]
        if name is None:
            raise aws_error("InvalidArgumentException", "Either StreamName or StreamARN should be provided.", 400,
                            operation=operation)
        stream = self.streams.get(name)
        if stream is None or (active and stream.status != "ACTIVE"):
            raise self._not_found(name, operation)
        return stream

    def stream_by_arn(self, arn: str) -> Stream | None:
        stream = self.streams.get(arn.rsplit("/", 1)[-1]) if arn else None
        return stream if stream is not None and stream.arn == arn else None

    # --- control ------------------------------------------------------------------------------------------
    def create_stream(self, *, StreamName, ShardCount=None, StreamModeDetails=None, Tags=None) -> dict:
        op = "CreateStream"
        if not isinstance(StreamName, str) or not 1 <= len(StreamName) <= 128:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{StreamName}' at "
                            "'streamName' failed to satisfy constraint: Member must have length less than or "
                            "equal to 128", 400, operation=op)
        mode = (StreamModeDetails or {}).get("StreamMode", "PROVISIONED" if ShardCount is not None else "ON_DEMAND")
        if ShardCount is None:
            ShardCount = ON_DEMAND_SHARDS
        if not isinstance(ShardCount, int) or ShardCount < 1:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{ShardCount}' at "
                            "'shardCount' failed to satisfy constraint: Member must have value greater than or "
                            "equal to 1", 400, operation=op)
        if ShardCount > 500:
            raise aws_error("LimitExceededException", f"This request would exceed the shard limit for the "
                            f"account {self.lab.account_id} in {self.lab.region}. Current shard count for the "
                            f"account: 0. Limit: 500. Number of additional shards that would have resulted from "
                            f"this request: {ShardCount}.", 400, operation=op)
        if StreamName in self.streams:
            raise aws_error("ResourceInUseException", f"Stream {StreamName} under account {self.lab.account_id} "
                            "already exists.", 400, operation=op)
        stream = self.streams[StreamName] = Stream(self, StreamName, ShardCount, mode)
        self.lab.engine.schedule(CREATE_SECONDS, self._activate, stream)
        return {}

    def _activate(self, stream: Stream) -> None:
        if self.streams.get(stream.name) is stream:
            stream.status = "ACTIVE"

    def delete_stream(self, *, StreamName=None, StreamARN=None, EnforceConsumerDeletion=False) -> dict:
        stream = self.stream({"StreamName": StreamName, "StreamARN": StreamARN}, "DeleteStream")
        del self.streams[stream.name]
        stream.status = "DELETING"
        return {}

    def describe_stream(self, *, StreamName=None, StreamARN=None, Limit=None, ExclusiveStartShardId=None) -> dict:
        stream = self.stream({"StreamName": StreamName, "StreamARN": StreamARN}, "DescribeStream")
        shards = [{"ShardId": s.shard_id,
                   "HashKeyRange": {"StartingHashKey": str(s.start_hash), "EndingHashKey": str(s.end_hash)},
                   "SequenceNumberRange": {"StartingSequenceNumber": str(s.first_seq)}}
                  for s in stream.shards]
        return {"StreamDescription": {
            "StreamName": stream.name, "StreamARN": stream.arn, "StreamStatus": stream.status,
            "StreamModeDetails": {"StreamMode": stream.mode}, "Shards": shards, "HasMoreShards": False,
            "RetentionPeriodHours": stream.retention_hours,
            "StreamCreationTimestamp": self.timestamp(stream.created),
            "EnhancedMonitoring": [{"ShardLevelMetrics": []}], "EncryptionType": "NONE"}}

    def list_streams(self, *, Limit=None, ExclusiveStartStreamName=None, NextToken=None) -> dict:
        names = sorted(self.streams)
        after = NextToken or ExclusiveStartStreamName
        if after is not None:
            names = [n for n in names if n > after]
        page = names if Limit is None else names[:Limit]
        out = {"StreamNames": page, "HasMoreStreams": len(page) < len(names),
               "StreamSummaries": [{"StreamName": n, "StreamARN": self.streams[n].arn,
                                    "StreamStatus": self.streams[n].status,
                                    "StreamModeDetails": {"StreamMode": self.streams[n].mode},
                                    "StreamCreationTimestamp": self.timestamp(self.streams[n].created)}
                                   for n in page]}
        if out["HasMoreStreams"]:
            out["NextToken"] = page[-1]
        return out

    def increase_stream_retention_period(self, *, RetentionPeriodHours, StreamName=None, StreamARN=None) -> dict:
        return self._retention(StreamName, StreamARN, RetentionPeriodHours, "IncreaseStreamRetentionPeriod", +1)

    def decrease_stream_retention_period(self, *, RetentionPeriodHours, StreamName=None, StreamARN=None) -> dict:
        return self._retention(StreamName, StreamARN, RetentionPeriodHours, "DecreaseStreamRetentionPeriod", -1)

    def _retention(self, name, arn, hours, op, direction) -> dict:
        stream = self.stream({"StreamName": name, "StreamARN": arn}, op, active=True)
        if not isinstance(hours, int) or not 24 <= hours <= 8760:
            raise aws_error("InvalidArgumentException", f"Minimum allowed retention period is 24 hours and maximum "
                            f"is 8760 hours. Requested retention period ({hours} hours) is out of range.", 400,
                            operation=op)
        if (hours - stream.retention_hours) * direction < 0:
            shorter, other = ("shorter", "Decrease") if direction > 0 else ("longer", "Increase")
            raise aws_error("InvalidArgumentException", f"Requested retention period ({hours} hours) for stream "
                            f"{stream.name} can not be {shorter} than existing retention period "
                            f"({stream.retention_hours} hours). Use {other}RetentionPeriod API.", 400, operation=op)
        stream.retention_hours = hours
        return {}

    # --- data ---------------------------------------------------------------------------------------------
    def _put(self, stream: Stream, data, key, explicit_hash_key, op: str) -> StreamRecord:
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(key, str) or not 1 <= len(key) <= 256:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{key}' at "
                            "'partitionKey' failed to satisfy constraint: Member must have length less than or "
                            "equal to 256", 400, operation=op)
        if len(data) + len(key.encode()) > MAX_RECORD_BYTES:
            raise aws_error("ValidationException", "1 validation error detected: Value at 'data' failed to "
                            "satisfy constraint: Member must have length less than or equal to 1048576", 400,
                            operation=op)
        shard = stream.shard_for(key, explicit_hash_key)
        record = StreamRecord(stream.next_sequence(), bytes(data), key, self.lab.now, shard)
        shard.append(record)
        return record

    def _notify(self, stream: Stream, shards) -> None:
        for listener in list(stream.listeners):
            for shard in shards:
                listener(stream, shard)

    def put_record(self, *, Data, PartitionKey, StreamName=None, StreamARN=None, ExplicitHashKey=None,
                   SequenceNumberForOrdering=None) -> dict:
        stream = self.stream({"StreamName": StreamName, "StreamARN": StreamARN}, "PutRecord", active=True)
        record = self._put(stream, Data, PartitionKey, ExplicitHashKey, "PutRecord")
        self._notify(stream, [record.shard])
        return {"ShardId": record.shard.shard_id, "SequenceNumber": record.sequence_number,
                "EncryptionType": "NONE"}

    def put_records(self, *, Records, StreamName=None, StreamARN=None) -> dict:
        op = "PutRecords"
        stream = self.stream({"StreamName": StreamName, "StreamARN": StreamARN}, op, active=True)
        if not isinstance(Records, list) or not 1 <= len(Records) <= MAX_PUT_RECORDS:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{Records}' at 'records' "
                            f"failed to satisfy constraint: Member must have length less than or equal to "
                            f"{MAX_PUT_RECORDS}", 400, operation=op)
        written = [self._put(stream, e["Data"], e["PartitionKey"], e.get("ExplicitHashKey"), op) for e in Records]
        touched = []
        for record in written:
            if record.shard not in touched:
                touched.append(record.shard)
        self._notify(stream, touched)
        return {"FailedRecordCount": 0, "EncryptionType": "NONE",
                "Records": [{"SequenceNumber": r.sequence_number, "ShardId": r.shard.shard_id} for r in written]}

    def get_shard_iterator(self, *, ShardId, ShardIteratorType, StreamName=None, StreamARN=None,
                           StartingSequenceNumber=None, Timestamp=None) -> dict:
        op = "GetShardIterator"
        stream = self.stream({"StreamName": StreamName, "StreamARN": StreamARN}, op, active=True)
        shard = stream.shard(ShardId)
        if shard is None:
            raise aws_error("ResourceNotFoundException", f"Shard {ShardId} in stream {stream.name} under account "
                            f"{self.lab.account_id} does not exist", 400, operation=op)
        if ShardIteratorType not in ITERATOR_TYPES:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{ShardIteratorType}' at "
                            "'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: "
                            f"[{', '.join(ITERATOR_TYPES)}]", 400, operation=op)
        shard.trim(self.lab.now)
        if ShardIteratorType in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            try:
                seq = int(StartingSequenceNumber)
            except (TypeError, ValueError):
                raise aws_error("InvalidArgumentException", f"StartingSequenceNumber {StartingSequenceNumber} used "
                                f"in GetShardIterator on shard {ShardId} in stream {stream.name} under account "
                                f"{self.lab.account_id} is invalid.", 400, operation=op) from None
            position = seq - 1 if ShardIteratorType == "AT_SEQUENCE_NUMBER" else seq
        elif ShardIteratorType == "TRIM_HORIZON":
            position = shard.first_seq - 1
        elif ShardIteratorType == "LATEST":
            position = shard.last_seq()
        else:
            if Timestamp is None:
                raise aws_error("InvalidArgumentException", "Must specify timestampInMillis parameter for iterator "
                                "of type AT_TIMESTAMP. Current request has no timestamp parameter.", 400,
                                operation=op)
            position = shard.seq_before_time(self.virtual_time(Timestamp))
        return {"ShardIterator": self._iterator(stream, shard, position)}

    def _iterator(self, stream: Stream, shard: Shard, position: int) -> str:
        token = base64.b64encode(json.dumps([stream.name, shard.shard_id, str(position),
                                             len(self._iterators)]).encode()).decode()
        self._iterators[token] = (stream, shard, position)
        return token

    def get_records(self, *, ShardIterator, Limit=None, StreamARN=None) -> dict:
        op = "GetRecords"
        found = self._iterators.get(ShardIterator)
        if found is None:
            raise aws_error("InvalidArgumentException", f"Invalid ShardIterator: {ShardIterator}", 400, operation=op)
        stream, shard, position = found
        if self.streams.get(stream.name) is not stream:
            raise self._not_found(stream.name, op)
        limit = 10000 if Limit is None else Limit
        if not isinstance(limit, int) or not 1 <= limit <= 10000:
            raise aws_error("ValidationException", f"1 validation error detected: Value '{Limit}' at 'limit' "
                            "failed to satisfy constraint: Member must have value less than or equal to 10000",
                            400, operation=op)
        records = shard.after(position, self.lab.now, limit)
        new_position = records[-1].seq if records else max(position, shard.first_seq - 1)
        behind = 0 if not records or records[-1] is shard.records[-1] else \
            int((self.lab.now - records[-1].arrival) * 1000)
        return {"Records": [{"SequenceNumber": r.sequence_number,
                             "ApproximateArrivalTimestamp": self.timestamp(r.arrival),
                             "Data": r.data, "PartitionKey": r.partition_key, "EncryptionType": "NONE"}
                            for r in records],
                "NextShardIterator": self._iterator(stream, shard, new_position),
                "MillisBehindLatest": behind}

    def statistics(self) -> dict[str, "StreamStatistics"]:
        """Each stream's record, by name."""
        return {name: StreamStatistics(stream.status, len(stream.shards),
                                       sum(len(shard.records) for shard in stream.shards))
                for name, stream in self.streams.items()}

    # --- time helpers -------------------------------------------------------------------------------------
    def timestamp(self, t: float) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(self.lab.epoch + t, _dt.timezone.utc)

    def virtual_time(self, when) -> float:
        """A boto3 timestamp (datetime or epoch seconds) -> lab time."""
        if isinstance(when, _dt.datetime):
            if when.tzinfo is None:
                when = when.replace(tzinfo=_dt.timezone.utc)
            return when.timestamp() - self.lab.epoch
        return float(when) - self.lab.epoch


@dataclass(frozen=True)
class StreamStatistics(Statistics):
    status: str             # CREATING, ACTIVE, DELETING
    shards: int
    records: int            # records held on its shards


def attach(lab) -> None:
    lab.kinesis = KinesisService(lab)
    lab.register_backend("kinesis", lab.kinesis)
