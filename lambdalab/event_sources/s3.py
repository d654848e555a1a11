"""An in-process Amazon S3: buckets, objects, and event notifications that invoke functions.

In AWS, S3 stores objects in buckets and, when a bucket has a notification configuration, tells other services
about changes: a new object (``s3:ObjectCreated:*``) or a deleted one (``s3:ObjectRemoved:*``) whose key matches
a configuration's prefix and suffix filters becomes an event record sent to a Lambda function (an asynchronous
invoke), an SQS queue or an SNS topic. S3 checks the destinations when the configuration is written: a function
whose resource policy does not let ``s3.amazonaws.com`` invoke it (for this bucket) is refused with
``InvalidArgument``, and nothing is stored.

Here ``lab.client("s3")`` answers CreateBucket, DeleteBucket, ListBuckets, PutObject, GetObject, HeadObject,
DeleteObject, ListObjectsV2 and the bucket notification configuration calls. What we simplify: one region, no
versioning, ACLs, encryption, multipart uploads or storage classes; a notification leaves the moment the object
is stored (AWS: usually within seconds) and exactly once (AWS: at least once); queue and topic destinations are
not checked against their own access policies. A notification that cannot be delivered (the function is gone or
its policy no longer allows S3) is recorded in ``lab.s3.undelivered`` rather than retried.
"""
from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import json
import re
from dataclasses import dataclass
from urllib.parse import quote_plus

from ..control_plane.errors import aws_error
from ..observability.records import Statistics
from . import s3_notifications as notifications

__all__ = ["S3", "S3Bucket", "S3Object", "S3Statistics", "attach"]

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_KEY_BYTES = 1024


def s3_error(code: str, message: str, status: int = 400, operation: str = "S3", **extra):
    return aws_error(code, message, status, operation=operation, service="s3", **extra)


def no_such_bucket(name, operation: str):
    return s3_error("NoSuchBucket", "The specified bucket does not exist", 404, operation, BucketName=name)


class S3Object:
    __slots__ = ("key", "body", "etag", "modified", "content_type", "metadata")

    def __init__(self, key: str, body: bytes, modified: float, content_type: str, metadata: dict) -> None:
        self.key, self.body, self.modified = key, body, modified
        self.etag = hashlib.md5(body).hexdigest()
        self.content_type, self.metadata = content_type, metadata


class S3Bucket:
    def __init__(self, name: str, created: float) -> None:
        self.name = name
        self.arn = f"arn:aws:s3:::{name}"
        self.created = created
        self.objects: dict[str, S3Object] = {}
        self.notification: dict = {}      # the stored NotificationConfiguration
        self.sequencer = 0


class S3:
    """``lab.s3``: the S3 backend (one method per operation, as boto3 names them)."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.buckets: dict[str, S3Bucket] = {}
        self.undelivered: list[dict] = []       # notifications that could not be delivered, and why
        self.delivered = 0

    def _bucket(self, name, operation: str) -> S3Bucket:
        bucket = self.buckets.get(name) if isinstance(name, str) else None
        if bucket is None:
            raise no_such_bucket(name, operation)
        return bucket

    def _time(self, t: float) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(round(self.lab.epoch + t, 3), _dt.timezone.utc)

    # --- buckets --------------------------------------------------------------------------------------------
    def create_bucket(self, *, Bucket, CreateBucketConfiguration=None, **_acl) -> dict:
        op = "CreateBucket"
        name = Bucket
        if not isinstance(name, str) or not BUCKET_NAME.match(name) or ".." in name or \
                re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
            raise s3_error("InvalidBucketName", "The specified bucket is not valid.", 400, op, BucketName=name)
        region = (CreateBucketConfiguration or {}).get("LocationConstraint")
        if self.lab.region == "us-east-1":
            if region is not None:
                raise s3_error("InvalidLocationConstraint", "The specified location-constraint is not valid", 400,
                               op, LocationConstraint=region)
        elif region != self.lab.region:
            raise s3_error("IllegalLocationConstraintException", f"The {region or 'unspecified'} location "
                           "constraint is incompatible for the region specific endpoint this request was sent to.",
                           400, op)
        if name in self.buckets:
            if self.lab.region == "us-east-1":      # the legacy region answers 200 and does nothing
                return {"Location": f"/{name}"}
            raise s3_error("BucketAlreadyOwnedByYou", "Your previous request to create the named bucket "
                           "succeeded and you already own it.", 409, op, BucketName=name)
        self.buckets[name] = S3Bucket(name, self.lab.now)
        if self.lab.region == "us-east-1":
            return {"Location": f"/{name}"}
        return {"Location": f"http://{name}.s3.amazonaws.com/"}

    def delete_bucket(self, *, Bucket, ExpectedBucketOwner=None) -> dict:
        bucket = self._bucket(Bucket, "DeleteBucket")
        if bucket.objects:
            raise s3_error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, "DeleteBucket",
                           BucketName=Bucket)
        del self.buckets[Bucket]
        return {}

    def list_buckets(self, **_) -> dict:
        return {"Buckets": [{"Name": b.name, "CreationDate": self._time(b.created)}
                            for b in sorted(self.buckets.values(), key=lambda b: b.name)],
                "Owner": {"ID": hashlib.sha256(self.lab.account_id.encode()).hexdigest()}}

    # --- objects --------------------------------------------------------------------------------------------
    def put_object(self, *, Bucket, Key, Body=b"", ContentType=None, Metadata=None, **_ignored) -> dict:
        op = "PutObject"
        bucket = self._bucket(Bucket, op)
        _check_key(Key, op)
        body = _bytes(Body)
        obj = S3Object(Key, body, self.lab.now, ContentType or "binary/octet-stream", dict(Metadata or {}))
        bucket.objects[Key] = obj
        if self.lab.trace.full:
            self.lab.trace.emit("s3", "put_object", "PutObject s3://{}/{} ({:,} bytes)", bucket.name, Key, len(body),
                                bucket=bucket.name, key=Key, size=len(body))
        self._changed(bucket, "ObjectCreated:Put", obj)
        return {"ETag": f'"{obj.etag}"'}

    def get_object(self, *, Bucket, Key, **_ignored) -> dict:
        obj = self._object(Bucket, Key, "GetObject")
        return {"Body": obj.body, **self._head(obj)}

    def head_object(self, *, Bucket, Key, **_ignored) -> dict:
        return self._head(self._object(Bucket, Key, "HeadObject"))

    def _object(self, Bucket, Key, op: str) -> S3Object:
        obj = self._bucket(Bucket, op).objects.get(Key)
        if obj is None:
            raise s3_error("NoSuchKey", "The specified key does not exist.", 404, op, Key=Key)
        return obj

    def _head(self, obj: S3Object) -> dict:
        return {"ContentLength": len(obj.body), "ETag": f'"{obj.etag}"', "ContentType": obj.content_type,
                "LastModified": self._time(obj.modified), "Metadata": dict(obj.metadata), "AcceptRanges": "bytes"}

    def delete_object(self, *, Bucket, Key, **_ignored) -> dict:
        op = "DeleteObject"
        bucket = self._bucket(Bucket, op)
        obj = bucket.objects.pop(Key, None)
        if self.lab.trace.full:
            self.lab.trace.emit("s3", "delete_object", "DeleteObject s3://{}/{}{}", bucket.name, Key,
                                "" if obj else " (there was no such key: S3 answers 204 all the same)",
                                bucket=bucket.name, key=Key)
        if obj is not None:
            self._changed(bucket, "ObjectRemoved:Delete", obj)
        return {}

    def list_objects_v2(self, *, Bucket, Prefix="", MaxKeys=1000, ContinuationToken=None, StartAfter=None,
                        Delimiter=None, **_ignored) -> dict:
        op = "ListObjectsV2"
        bucket = self._bucket(Bucket, op)
        start = StartAfter or ""
        if ContinuationToken is not None:
            try:
                start = base64.b64decode(ContinuationToken, validate=True).decode()
            except ValueError:
                raise s3_error("InvalidArgument", "The continuation token provided is incorrect", 400, op,
                               ArgumentName="continuation-token") from None
        keys = sorted(k for k in bucket.objects if k.startswith(Prefix or "") and k > start)
        contents, prefixes = [], []
        for key in keys:
            if Delimiter:
                cut = key.find(Delimiter, len(Prefix or ""))
                if cut >= 0:
                    common = key[:cut + len(Delimiter)]
                    if common not in prefixes:
                        prefixes.append(common)
                    continue
            contents.append(key)
        taken = contents[:MaxKeys]
        out = {"IsTruncated": len(contents) > MaxKeys, "Name": bucket.name, "Prefix": Prefix or "",
               "MaxKeys": MaxKeys, "KeyCount": len(taken) + len(prefixes)}
        if taken:
            out["Contents"] = [{"Key": k, "LastModified": self._time(bucket.objects[k].modified),
                                "ETag": f'"{bucket.objects[k].etag}"', "Size": len(bucket.objects[k].body),
                                "StorageClass": "STANDARD"} for k in taken]
        if prefixes:
            out["CommonPrefixes"] = [{"Prefix": p} for p in prefixes]
            out["Delimiter"] = Delimiter
        if out["IsTruncated"]:
            out["NextContinuationToken"] = base64.b64encode(taken[-1].encode()).decode()
        if ContinuationToken is not None:
            out["ContinuationToken"] = ContinuationToken
        if StartAfter is not None:
            out["StartAfter"] = StartAfter
        return out

    # --- notifications --------------------------------------------------------------------------------------
    def put_bucket_notification_configuration(self, *, Bucket, NotificationConfiguration,
                                              ExpectedBucketOwner=None, SkipDestinationValidation=False) -> dict:
        op = "PutBucketNotificationConfiguration"
        bucket = self._bucket(Bucket, op)
        stored = notifications.validate(self.lab, bucket, NotificationConfiguration, bool(SkipDestinationValidation),
                                        op)
        bucket.notification = stored
        return {}

    def get_bucket_notification_configuration(self, *, Bucket, ExpectedBucketOwner=None) -> dict:
        bucket = self._bucket(Bucket, "GetBucketNotificationConfiguration")
        return json.loads(json.dumps(bucket.notification))

    def _changed(self, bucket: S3Bucket, event_name: str, obj: S3Object) -> None:
        """An object was created or removed: the matching configurations are notified, just after the call."""
        targets = notifications.matching(bucket.notification, event_name, obj.key)
        if not targets:
            return
        bucket.sequencer += 1
        record = self.record(bucket, event_name, obj, bucket.sequencer)
        header = self.lab.calls.header
        for kind, config in targets:
            self.lab.engine.at(self.lab.now, notifications.deliver, self, bucket, kind, config, record, header)

    def record(self, bucket: S3Bucket, event_name: str, obj: S3Object, sequencer: int) -> dict:
        """The event record S3 sends (REFERENCE §11), without its ``configurationId`` (set per destination)."""
        lab = self.lab
        request_id = lab.ids.hex(16).upper()
        s3_object = {"key": quote_plus(obj.key, safe="/"), "sequencer": f"{sequencer:016X}"}
        if event_name.startswith("ObjectCreated"):
            s3_object = {"key": s3_object["key"], "size": len(obj.body), "eTag": obj.etag,
                         "sequencer": s3_object["sequencer"]}
        principal = f"AWS:{lab.account_id}"
        return {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": lab.region,
                "eventTime": lab.iso_time(lab.now), "eventName": event_name,
                "userIdentity": {"principalId": principal},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": request_id,
                                     "x-amz-id-2": base64.b64encode(hashlib.sha256(request_id.encode()).digest())
                                     .decode()},
                "s3": {"s3SchemaVersion": "1.0", "configurationId": "",
                       "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": principal},
                                  "arn": bucket.arn},
                       "object": s3_object}}

    def statistics(self) -> "S3Statistics":
        return S3Statistics(len(self.buckets), sum(len(b.objects) for b in self.buckets.values()), self.delivered,
                            len(self.undelivered))


@dataclass(frozen=True)
class S3Statistics(Statistics):
    buckets: int
    objects: int
    notifications_delivered: int
    notifications_undelivered: int  # kept with the reason in ``lab.s3.undelivered``


def _check_key(key, op: str) -> None:
    if not isinstance(key, str) or not key:
        raise s3_error("InvalidArgument", "Object key must not be empty", 400, op)
    if len(key.encode()) > MAX_KEY_BYTES:
        raise s3_error("KeyTooLongError", "Your key is too long", 400, op, Size=len(key.encode()),
                       MaxSizeAllowed=MAX_KEY_BYTES)


def _bytes(body) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode()
    if hasattr(body, "read"):
        data = body.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return bytes(body)


def attach(lab) -> None:
    lab.s3 = S3(lab)
    lab.register_backend("s3", lab.s3)
