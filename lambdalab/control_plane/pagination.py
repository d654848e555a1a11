"""Pages of Lambda's List* operations: ``MaxItems`` per page, ``Marker`` in, ``NextMarker`` out.

Lambda returns at most a service-set number of items per call (50 functions, 50 versions or aliases, 100
event source mappings) and, when more remain, an opaque ``NextMarker`` to pass back as ``Marker``. botocore's
paginators (``lam.get_paginator("list_functions")``) and the AWS CLI follow these markers by themselves. Our
marker is the position of the next item, encoded; a marker the service did not hand out is refused.
"""
from __future__ import annotations

import base64

from .errors import aws_error

__all__ = ["paginate"]


def paginate(items: list, marker: str | None, max_items: int | None, page_size: int, operation: str):
    """(this page of ``items``, the NextMarker or None)."""
    start = 0
    if marker:
        try:
            name, _, position = base64.urlsafe_b64decode(marker.encode()).decode().partition(":")
            start = int(position)
            if name != operation or start < 0:
                raise ValueError(marker)
        except ValueError:
            raise aws_error("InvalidParameterValueException", f"Invalid Marker: {marker}", 400,
                            operation=operation) from None
    size = page_size if max_items is None else min(max_items, page_size)
    end = start + size
    if end >= len(items):
        return items[start:], None
    return items[start:end], base64.urlsafe_b64encode(f"{operation}:{end}".encode()).decode()
