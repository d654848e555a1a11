"""Functions, versions and aliases: Lambda's control plane.

In AWS the control plane stores each function's configuration and code and moves it through states: a new
function is ``Pending`` while Lambda prepares it (``StateReasonCode: Creating``) and becomes ``Active`` (or
``Failed``); an update sets ``LastUpdateStatus`` to ``InProgress`` and then ``Successful``. ``$LATEST`` is the
mutable head; ``PublishVersion`` freezes code + configuration as ``1``, ``2``, ...; an alias names one version
and may send a weighted share of traffic to one more.

Here a ``FunctionVersion`` object is one immutable snapshot of code + configuration. Updating ``$LATEST``
installs a new snapshot, so execution environments, which are tied to the snapshot they were created for, never
run mixed code: new invokes get new environments, as in AWS. We simplify timing: Pending lasts
``PENDING_SECONDS`` of virtual time (longer while a VpcConfig's Hyperplane ENI or a container image is being
prepared: see ``vpc`` and ``packages``), and an update ``UPDATE_SECONDS`` (or as long as a new ENI takes).
SnapStart's rules and its Pending published versions are in ``snapstart``.
"""
from __future__ import annotations

import copy

from . import layers as layer_rules
from . import packages, snapstart, vpc
from . import validation as v
from .errors import aws_error
from .pagination import paginate
from .tags import check_tags

PENDING_SECONDS = 1.0
UPDATE_SECONDS = 1.0


class FunctionVersion:
    """One snapshot of a function: configuration dict (boto3's FunctionConfiguration), code, and model knobs."""

    __slots__ = ("function", "version", "config", "files", "model", "key", "qualified_arn", "provisioned",
                 "runtime", "handler", "snapstart", "name")

    def __init__(self, function: "Function", version: str, config: dict, files: dict, model: dict, key: int):
        self.function = function
        self.name = function.name   # (a function's name never changes)
        self.version = version
        self.config = config
        self.files = files
        self.model = model          # duration / init_duration distributions, source kind, layers, image ...
        self.key = key              # identity of this snapshot (environments are pooled by it)
        self.qualified_arn = f"{function.arn}:{version}"
        self.provisioned = None     # ProvisionedConcurrency bookkeeping (set by the fleet)
        self.snapstart = None       # a published version's SnapStart snapshot, once taken (sandbox.snapstart)
        # what runs the code: a .zip names its Runtime and Handler, a container image brings its runtime and
        # says what to call in its CMD (or ImageConfig.Command)
        for key in ("duration", "init_duration"):       # ll.CpuBound work takes its time at this MemorySize
            if hasattr(model.get(key), "at"):
                model[key] = model[key].at(config["MemorySize"])
        image = model.get("image")
        self.runtime = config["Runtime"] if image is None else image.runtime
        command = ((model.get("image_config") or {}).get("Command") or image.command) if image else None
        self.handler = config["Handler"] if image is None else (command[0] if command else "")

    @property
    def memory(self) -> int:
        return self.config["MemorySize"]

    @property
    def timeout(self) -> int:
        return self.config["Timeout"]

    def __repr__(self) -> str:
        return f"<FunctionVersion {self.function.name}:{self.version}>"


class Function:
    """A function: its ``$LATEST`` snapshot, published versions, aliases and per-function settings."""

    def __init__(self, name: str, arn: str) -> None:
        self.name = name
        self.arn = arn
        self.latest: FunctionVersion | None = None
        self.updating: FunctionVersion | None = None   # the next $LATEST while an update is InProgress
        self.versions: dict[str, FunctionVersion] = {}
        self.aliases: dict = {}                          # name -> aliases.Alias
        self.next_version = 1
        self.reserved: int | None = None
        self.event_invoke_config: dict | None = None
        self.provisioned_configs: dict[str, dict] = {}   # qualifier -> config record
        self.tags: dict[str, str] = {}
        self.published: tuple[int, str] | None = None    # (key of the $LATEST snapshot, version) last published

    def snapshot(self, qualifier: str) -> FunctionVersion | None:
        """What invokes of ``qualifier`` run: during an update, $LATEST still runs the previous snapshot."""
        if qualifier == "$LATEST":
            return self.latest
        return self.versions.get(qualifier)

    def described(self, qualifier: str) -> FunctionVersion | None:
        """What Get* calls describe: during an update, the new configuration with LastUpdateStatus InProgress."""
        if qualifier == "$LATEST" and self.updating is not None:
            return self.updating
        return self.snapshot(qualifier)


class ControlPlane:
    """The function registry with Lambda's API semantics. Methods take boto3's parameters, return its dicts."""

    def __init__(self, lab) -> None:
        self.lab = lab
        self.functions: dict[str, Function] = {}
        self._keys = 0

    # --- helpers -----------------------------------------------------------------------------------------
    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.lab.region}:{self.lab.account_id}:function:{name}"

    def not_found(self, name: str, qualifier: str | None = None, operation: str = "GetFunction"):
        arn = self.function_arn(name) + (f":{qualifier}" if qualifier else "")
        return aws_error("ResourceNotFoundException", f"Function not found: {arn}", 404, operation=operation)

    def get(self, function_name: str, operation: str = "GetFunction") -> Function:
        name = v.check_function_name(function_name, operation)
        fn = self.functions.get(name)
        if fn is None:
            raise self.not_found(name, operation=operation)
        return fn

    def resolve(self, function_name: str, qualifier: str | None, operation: str = "Invoke"):
        """Name (+ qualifier) -> (Function, the qualifier as given, Alias or None). Raises 404 like Lambda."""
        name = v.check_function_name(function_name, operation)
        _, arn_qualifier = v.split_qualifier(function_name)
        if qualifier and arn_qualifier and qualifier != arn_qualifier:
            raise aws_error("InvalidParameterValueException",
                            "The derived qualifier from the function name does not match the specified qualifier.",
                            400, operation=operation)
        qualifier = qualifier or arn_qualifier
        fn = self.functions.get(name)
        match = v.FUNCTION_NAME.match(function_name)
        region = (match.group(3) or ":")[:-1] or self.lab.region
        account = (match.group(5) or ":")[:-1] or self.lab.account_id
        if fn is None or (region, account) != (self.lab.region, self.lab.account_id):
            # a function of another region or account is not in this lab's region
            arn = f"arn:aws:lambda:{region}:{account}:function:{name}:{qualifier or '$LATEST'}"
            raise aws_error("ResourceNotFoundException", f"Function not found: {arn}", 404, operation=operation)
        if qualifier in (None, "$LATEST"):
            return fn, qualifier, None
        if qualifier in fn.aliases:
            return fn, qualifier, fn.aliases[qualifier]
        if qualifier in fn.versions:
            return fn, qualifier, None
        raise self.not_found(name, qualifier, operation)

    def _new_key(self) -> int:
        self._keys += 1
        return self._keys

    def _timestamp(self) -> str:
        return self.lab.iso_time(self.lab.now, millis=True, offset="+0000")

    def revision(self) -> str:
        return self.lab.ids.uuid()

    # --- create / read / update / delete -------------------------------------------------------------------
    def create_function(self, *, FunctionName, Role, Code, Runtime=None, Handler=None, Description="",
                        Timeout=3, MemorySize=128, Publish=False, Environment=None, EphemeralStorage=None,
                        PackageType="Zip", Architectures=None, VpcConfig=None, DeadLetterConfig=None,
                        TracingConfig=None, Tags=None, Layers=None, SnapStart=None, LoggingConfig=None,
                        KMSKeyArn=None, ImageConfig=None, FileSystemConfigs=None, _model=None,
                        **unsupported) -> dict:
        op = "CreateFunction"
        refuse_unsupported(unsupported, op)
        name = v.check_function_name(FunctionName, op)
        if ":" in FunctionName:
            raise aws_error("InvalidParameterValueException", "FunctionName must not contain a qualifier", 400,
                            operation=op)
        package = packages.for_create(self.lab, op, PackageType=PackageType, Code=Code, Runtime=Runtime,
                                      Handler=Handler, Layers=Layers, ImageConfig=ImageConfig)
        v.check_description(Description, op)
        v.check_range(Timeout, "timeout", 1, 900, op)
        v.check_range(MemorySize, "memorySize", 128, 10240, op)
        storage = (EphemeralStorage or {}).get("Size", 512)
        v.check_range(storage, "ephemeralStorage.size", 512, 10240, op)
        variables = v.check_environment(Environment, op)
        if Architectures not in (None, ["x86_64"], ["arm64"]):
            raise aws_error("ValidationException", "Architectures must be ['x86_64'] or ['arm64'].", 400,
                            operation=op)
        vpc_config = vpc.check(VpcConfig, op)
        file_systems = v.check_file_systems(FileSystemConfigs, op)
        snap_start = snapstart.check(SnapStart, package.runtime, storage, file_systems, op)
        check_tags(Tags or {}, op)
        if name in self.functions:
            raise aws_error("ResourceConflictException", f"Function already exist: {name}", 409, operation=op)
        # all checks passed: from here on nothing can fail
        fn = Function(name, self.function_arn(name))
        config = {
            "FunctionName": name, "FunctionArn": fn.arn, "Role": Role,
            "Description": Description, "Timeout": Timeout, "MemorySize": MemorySize,
            "LastModified": self._timestamp(),
            "Version": "$LATEST", "TracingConfig": TracingConfig or {"Mode": "PassThrough"},
            "RevisionId": self.revision(), "State": "Pending",
            "StateReason": "The function is being created.", "StateReasonCode": "Creating",
            "Architectures": Architectures or ["x86_64"],
            "EphemeralStorage": {"Size": storage},
            "SnapStart": snap_start,
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
            **package.config,
        }
        if variables:
            config["Environment"] = {"Variables": variables}
        if DeadLetterConfig:
            config["DeadLetterConfig"] = dict(DeadLetterConfig)
        if vpc_config:
            config["VpcConfig"] = vpc_config
        if file_systems:
            config["FileSystemConfigs"] = file_systems
        model = dict(_model or {}, **package.model)
        fn.latest = FunctionVersion(fn, "$LATEST", config, package.files, model, self._new_key())
        self.functions[name] = fn
        eni_wait, eni_failure = self.lab.vpc.prepare(config)
        delay = max(PENDING_SECONDS, eni_wait, package.pending)
        self.lab.engine.schedule(delay, self._finish_create, fn, package.failure or eni_failure, bool(Publish))
        fn.tags = dict(Tags or {})
        result = copy.deepcopy(config)
        if Publish:         # version 1 is published once the function is Active (the ARN stays unqualified)
            result["Version"] = str(fn.next_version)
        return result

    def _finish_create(self, fn: Function, failure, publish: bool = False) -> None:
        """Pending is over: Active (then version 1 when ``publish``), or Failed with ``failure`` =
        (StateReasonCode, StateReason)."""
        if self.functions.get(fn.name) is not fn:
            return
        cfg = fn.latest.config
        if failure is not None:
            cfg.update(State="Failed", StateReasonCode=failure[0], StateReason=failure[1])
        else:
            cfg.update(State="Active", StateReasonCode="Idle")
            cfg.pop("StateReason", None)
            cfg["LastUpdateStatus"] = "Successful"
            self.lab.vpc.watch(fn)
            if publish:
                self._publish(fn)
        self.lab.on_function_state(fn)

    def get_function_configuration(self, *, FunctionName, Qualifier=None) -> dict:
        fn, qualifier, alias = self.resolve(FunctionName, Qualifier, "GetFunctionConfiguration")
        snap = fn.described(alias.function_version if alias else (qualifier or "$LATEST"))
        return copy.deepcopy(snap.config)

    def get_function(self, *, FunctionName, Qualifier=None) -> dict:
        fn, qualifier, alias = self.resolve(FunctionName, Qualifier, "GetFunction")
        config = self.get_function_configuration(FunctionName=FunctionName, Qualifier=Qualifier)
        snap = fn.described(alias.function_version if alias else (qualifier or "$LATEST"))
        if snap.model.get("image") is not None:
            image = snap.model["image"]
            code = {"RepositoryType": "ECR", "ImageUri": snap.model["image_uri"],
                    "ResolvedImageUri": f"{snap.model['image_uri'].split('@')[0].rsplit(':', 1)[0]}@{image.digest}"}
        else:
            code = {"RepositoryType": "S3",
                    "Location": f"https://awslambda-{self.lab.region}-tasks.s3.{self.lab.region}.amazonaws.com/"
                                f"snapshots/{self.lab.account_id}/{fn.name}"}
        out = {"Configuration": config, "Code": code, "Tags": dict(fn.tags)}
        if fn.reserved is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved}
        return out

    def list_functions(self, *, MasterRegion=None, FunctionVersion=None, Marker=None, MaxItems=None) -> dict:
        op = "ListFunctions"
        if FunctionVersion not in (None, "ALL"):
            raise aws_error("ValidationException", f"1 validation error detected: Value '{FunctionVersion}' at "
                            "'functionVersion' failed to satisfy constraint: Member must satisfy enum value set: "
                            "[ALL]", 400, operation=op)
        if MasterRegion is not None:
            refuse_unsupported({"MasterRegion"}, op)       # Lambda@Edge replicas: not modelled
        snapshots = []
        for _, fn in sorted(self.functions.items()):
            snapshots.append(fn.described("$LATEST"))
            if FunctionVersion == "ALL":
                snapshots.extend(fn.versions[k] for k in sorted(fn.versions, key=int))
        page, marker = paginate(snapshots, Marker, MaxItems, 50, op)
        out = {"Functions": [copy.deepcopy(snap.config) for snap in page]}
        if marker:
            out["NextMarker"] = marker
        return out

    def _updating(self, fn: Function, op: str) -> None:
        cfg = fn.latest.config
        if cfg["State"] == "Pending" or fn.updating is not None:
            raise aws_error("ResourceConflictException",
                            "The operation cannot be performed at this time. An update is in progress for "
                            f"resource: {fn.arn}", 409, operation=op)

    def _install(self, fn: Function, config: dict, files: dict, model: dict, publish: bool = False,
                 wait: float = 0.0, failure=None) -> dict:
        """Make a new $LATEST snapshot with LastUpdateStatus InProgress; Successful a moment later (``wait``
        seconds when a new ENI or image is being prepared; then published as the next version when ``publish``:
        the answer already names that version), or Failed with ``failure`` (code, reason)."""
        config.update(LastModified=self._timestamp(), RevisionId=self.revision(), LastUpdateStatus="InProgress",
                      LastUpdateStatusReason="The function is being created.",
                      LastUpdateStatusReasonCode="Creating")
        new = FunctionVersion(fn, "$LATEST", config, files, model, self._new_key())
        fn.updating = new
        self.lab.engine.schedule(max(UPDATE_SECONDS, wait), self._finish_update, fn, new, publish, failure)
        result = copy.deepcopy(config)
        if publish:
            result.update(Version=str(fn.next_version), FunctionArn=f"{fn.arn}:{fn.next_version}")
        return result

    def _finish_update(self, fn: Function, new: FunctionVersion, publish: bool = False, failure=None) -> None:
        if self.functions.get(fn.name) is not fn:
            return
        if failure is not None:             # the previous configuration stays, marked with the failure
            fn.updating = None
            fn.latest.config.update(LastUpdateStatus="Failed", LastUpdateStatusReasonCode=failure[0],
                                    LastUpdateStatusReason=failure[1])
            return
        old, fn.latest, fn.updating = fn.latest, new, None
        for key in ("LastUpdateStatusReason", "LastUpdateStatusReasonCode"):
            new.config.pop(key, None)
        new.config["LastUpdateStatus"] = "Successful"
        self.lab.on_snapshot_replaced(old)
        if publish:
            self._publish(fn)

    def update_function_code(self, *, FunctionName, ZipFile=None, ImageUri=None, Publish=False, _model=None,
                             **unsupported):
        op = "UpdateFunctionCode"
        refuse_unsupported(unsupported, op)
        fn = self.get(FunctionName, op)
        package = packages.for_code_update(self.lab, op, fn.latest, ZipFile=ZipFile, ImageUri=ImageUri)
        self._updating(fn, op)
        config = copy.deepcopy(fn.latest.config)
        config.update(package.config)
        model = dict(fn.latest.model, **package.model)
        model.update(_model or {})
        return self._install(fn, config, package.files, model, bool(Publish), package.pending, package.failure)

    def update_function_configuration(self, *, FunctionName, _model=None, **params) -> dict:
        op = "UpdateFunctionConfiguration"
        fn = self.get(FunctionName, op)
        allowed = {"Role", "Handler", "Description", "Timeout", "MemorySize", "Environment", "Runtime",
                   "EphemeralStorage", "DeadLetterConfig", "TracingConfig", "VpcConfig", "Layers", "SnapStart",
                   "LoggingConfig", "KMSKeyArn", "FileSystemConfigs"}
        refuse_unsupported(set(params) - allowed, op)
        if "Timeout" in params:
            v.check_range(params["Timeout"], "timeout", 1, 900, op)
        if "MemorySize" in params:
            v.check_range(params["MemorySize"], "memorySize", 128, 10240, op)
        if "EphemeralStorage" in params:
            v.check_range(params["EphemeralStorage"].get("Size", 512), "ephemeralStorage.size", 512, 10240, op)
        if fn.latest.config["PackageType"] == "Image" and ({"Runtime", "Handler"} & set(params) or
                                                           params.get("Layers")):
            raise aws_error("InvalidParameterValueException", "Please don't provide Handler or Runtime or Layer "
                            "when the intended function PackageType is Image.", 400, operation=op)
        if "Runtime" in params:
            v.check_runtime(params["Runtime"], op)
        if "Handler" in params:
            v.check_handler(params["Handler"], op)
        if "Description" in params:
            v.check_description(params["Description"], op)
        variables = v.check_environment(params["Environment"], op) if "Environment" in params else None
        layers = fn.latest.model.get("layers", ())
        if "Layers" in params:
            layers = self.lab.layers.resolve(params["Layers"], op)
            layer_rules.check_total_size(packages.code_size(fn.latest.files), layers, op)
        old = fn.latest.config
        vpc_config = vpc.check(params["VpcConfig"], op) if "VpcConfig" in params else old.get("VpcConfig")
        file_systems = v.check_file_systems(params.get("FileSystemConfigs", old.get("FileSystemConfigs")), op)
        snap_start = snapstart.check(params.get("SnapStart", old["SnapStart"]),
                                     params.get("Runtime", fn.latest.runtime),
                                     params.get("EphemeralStorage", old["EphemeralStorage"]).get("Size", 512),
                                     file_systems, op)
        self._updating(fn, op)
        config = copy.deepcopy(fn.latest.config)
        for key in ("Role", "Handler", "Description", "Timeout", "MemorySize", "Runtime", "EphemeralStorage",
                    "TracingConfig", "LoggingConfig"):
            if key in params:
                config[key] = copy.deepcopy(params[key])
        if variables is not None:
            if variables:
                config["Environment"] = {"Variables": variables}
            else:
                config.pop("Environment", None)
        if "DeadLetterConfig" in params:
            if params["DeadLetterConfig"].get("TargetArn"):
                config["DeadLetterConfig"] = dict(params["DeadLetterConfig"])
            else:
                config.pop("DeadLetterConfig", None)
        for key, value in (("Layers", layer_rules.configuration(layers)), ("VpcConfig", vpc_config),
                           ("FileSystemConfigs", file_systems)):
            if value:
                config[key] = value
            else:
                config.pop(key, None)
        config["SnapStart"] = snap_start
        model = dict(fn.latest.model, layers=layers)
        model.update(_model or {})
        eni_wait, eni_failure = self.lab.vpc.prepare(config)
        return self._install(fn, config, dict(fn.latest.files), model, wait=eni_wait, failure=eni_failure)

    def delete_function(self, *, FunctionName, Qualifier=None) -> dict:
        op = "DeleteFunction"
        fn = self.get(FunctionName, op)
        if Qualifier and Qualifier != "$LATEST":
            if Qualifier not in fn.versions:
                raise self.not_found(fn.name, Qualifier, op)
            if any(a.function_version == Qualifier or Qualifier in a.weights for a in fn.aliases.values()):
                raise aws_error("ResourceConflictException",
                                f"Unable to delete version because the following aliases reference it: "
                                f"{[a.name for a in fn.aliases.values()]}", 409, operation=op)
            snap = fn.versions.pop(Qualifier)
            self.lab.on_snapshot_replaced(snap)
            return {"ResponseMetadata": {"HTTPStatusCode": 204}}
        del self.functions[fn.name]
        for snap in [fn.latest, *fn.versions.values()]:
            self.lab.on_snapshot_replaced(snap)
        self.lab.on_function_deleted(fn)
        return {"ResponseMetadata": {"HTTPStatusCode": 204}}

    # --- versions and aliases -----------------------------------------------------------------------------
    def publish_version(self, *, FunctionName, Description=None, CodeSha256=None, RevisionId=None) -> dict:
        op = "PublishVersion"
        fn = self.get(FunctionName, op)
        latest = fn.latest
        if latest.config["State"] != "Active" or fn.updating is not None:
            raise aws_error("ResourceConflictException",
                            "The operation cannot be performed at this time. An update is in progress for "
                            f"resource: {fn.arn}", 409, operation=op)
        if CodeSha256 and CodeSha256 != latest.config["CodeSha256"]:
            raise aws_error("InvalidParameterValueException",
                            "CodeSHA256 (%s) is different from current CodeSHA256 in $LATEST (%s). Please try "
                            "again with the CodeSHA256 in $LATEST." % (CodeSha256, latest.config["CodeSha256"]),
                            400, operation=op)
        if RevisionId and RevisionId != latest.config["RevisionId"]:
            raise aws_error("PreconditionFailedException",
                            "The Revision Id provided does not match the latest Revision Id. Call the "
                            "GetFunction/GetAlias API to retrieve the latest Revision Id", 412, operation=op)
        if fn.published is not None and fn.published[0] == latest.key and fn.published[1] in fn.versions:
            # no update since the last publish: Lambda hands that version back (any update, even one that
            # changed nothing, makes the next publish a new version)
            return copy.deepcopy(fn.versions[fn.published[1]].config)
        return self._publish(fn, Description)

    def _publish(self, fn: Function, description: str | None = None) -> dict:
        latest = fn.latest
        version = str(fn.next_version)
        fn.next_version += 1
        config = copy.deepcopy(latest.config)
        config.update(Version=version, FunctionArn=f"{fn.arn}:{version}", RevisionId=self.revision())
        if description is not None:
            config["Description"] = description
        snapstart.pending_on_publish(config)
        snap = FunctionVersion(fn, version, config, latest.files, dict(latest.model), self._new_key())
        fn.versions[version] = snap
        fn.published = (latest.key, version)
        self.lab.on_version_published(snap)
        return copy.deepcopy(config)

    def list_versions_by_function(self, *, FunctionName, Marker=None, MaxItems=None) -> dict:
        op = "ListVersionsByFunction"
        fn = self.get(FunctionName, op)
        versions = [fn.described("$LATEST")] + [fn.versions[k] for k in sorted(fn.versions, key=int)]
        page, marker = paginate(versions, Marker, MaxItems, 50, op)
        out = []
        for snap in page:
            cfg = copy.deepcopy(snap.config)
            if snap.version == "$LATEST":
                cfg["FunctionArn"] = f"{fn.arn}:$LATEST"
            out.append(cfg)
        result = {"Versions": out}
        if marker:
            result["NextMarker"] = marker
        return result


def refuse_unsupported(names, operation: str) -> None:
    """AWS parameters we do not model are refused rather than silently ignored."""
    if names:
        raise aws_error("InvalidParameterValueException",
                        f"Unsupported parameter(s) in lambdalab: {', '.join(sorted(names))}", 400, operation=operation)
