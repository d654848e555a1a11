#!/usr/bin/env python3
"""Write README.md's table of the AWS operations the lab serves, from the dispatcher itself.

    python scripts/served_operations.py            # rewrite the table between the README's markers
    python scripts/served_operations.py --check    # exit 1 if the README's table is stale (tests do this)

Each service the lab registers a backend for is listed with its protocol and every operation of botocore's
model that some backend implements (``lab.dispatcher.served(service)``): exactly what ``lab.client(service)``
and ``lab.serve()`` answer. Anything else gets AWS's error shape with code ``NotImplemented`` (501).
"""
from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- served-operations:start -->", "<!-- served-operations:end -->"


def table() -> str:
    sys.path.insert(0, str(ROOT))
    import lambdalab as ll
    from lambdalab.wire import models
    lab = ll.Lab(seed=0)
    rows = ["| service | protocol | served | operations (boto3 method names) |", "|---|---|---|---|"]
    for service in sorted(lab.services(), key=lambda s: (s != "lambda", s)):
        model = models.service_model(service)
        served = lab.dispatcher.served(service)
        names = ", ".join(f"`{models.xform_name(op)}`" for op in served)
        rows.append(f"| {service} | {model.protocol} | {len(served)} of {len(model.operation_names)} | {names} |")
    return "\n".join(rows)


def rewritten(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    if not rest:
        raise SystemExit(f"README.md has no {START} ... {END} block")
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str]) -> int:
    text = README.read_text(encoding="utf-8")
    new = rewritten(text)
    if "--check" in argv:
        if new != text:
            print("README.md's served-operations table is stale: run python scripts/served_operations.py")
            return 1
        return 0
    README.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
