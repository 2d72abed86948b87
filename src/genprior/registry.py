"""The one name -> object registry used everywhere (methods, tasks, priors, schedules, samplers,
prior steps, DC steps, weight schedules, parameterisations), with clear errors for unknown names.

A :class:`Registry` is a read-only mapping: ``name in reg``, ``reg[name]``, ``sorted(reg)`` work as for
a dict; ``reg[name]`` / ``reg.get(name)`` raise a ``KeyError`` that lists the known names.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Mapping, Generic[T]):
    def __init__(self, kind: str, items: dict | None = None):
        self.kind = kind
        self._items: dict[str, T] = {}
        for name, obj in (items or {}).items():
            self.register(name, obj)

    def register(self, name: str, obj: T | None = None):
        def deco(o):
            if name in self._items:
                raise KeyError(f"{self.kind} {name!r} is already registered")
            self._items[name] = o
            return o
        return deco(obj) if obj is not None else deco

    def get(self, name: str) -> T:  # noqa: D102  (a registry has no silent default)
        if name not in self._items:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._items))}")
        return self._items[name]

    __getitem__ = get

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
