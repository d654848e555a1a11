"""``statistics()`` records: what a component says about itself, for panels and notebooks.

As trio's ``statistics()`` methods do, each component answers with a small frozen record made at the call: a
snapshot that later work does not change. A field reads as an attribute (``lab.fleet.statistics().workers``) or,
like the plain dict these records were before, by key (``["workers"]``): a record is a read-only mapping of its
fields (``in``, ``get``, ``items``, iteration over the names); ``dict(record)`` and ``as_dict()`` give a dict.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

__all__ = ["Statistics"]


@dataclass(frozen=True)
class Statistics(Mapping):
    """The base of every component's statistics record (a frozen dataclass read by attribute or by key)."""

    def __getitem__(self, key: str):
        if key in self.__dataclass_fields__:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self):
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)

    def keys(self):
        return self.__dataclass_fields__.keys()

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
