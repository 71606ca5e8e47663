"""Reads whose SQL is compiled once, for the few statements every request runs.

Building and compiling a queryset costs Django about half a millisecond of CPU, more than
PostgreSQL spends answering a lookup by key. On the statements every API request runs (the
caller's key, their roles) and every move runs (the deal under its lock, its process's stages)
that was most of the request's CPU. A `PreparedRead` builds its queryset once per database
connection, with a stand-in value for each parameter, keeps the compiled SQL and, on each call,
swaps the real values in. Rows become model instances as the queryset itself would make them
(its select_related relations included), through Django's own compiler, converters and
populators, and the statement goes through the connection's cursor like any other (query
logging, `assertNumQueries`).

Only for querysets of a fixed shape: the parameters must be plain ints or strings that reach
the SQL unchanged (keys, digests, names); a list whose length varies (`__in=ids`) changes the
SQL and is refused at preparation.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, get_related_populators
from django.db.models.sql.constants import MULTI


class _Prepared:
    def __init__(self, queryset: QuerySet, using: str, stand_ins: dict):
        self.compiler = queryset.query.get_compiler(using=using)
        # Compiling once fills the compiler's select list, klass_info and converters' inputs.
        self.sql, params = self.compiler.as_sql()
        self.models = queryset._iterable_class is ModelIterable
        if self.models and self.compiler.annotation_col_map:
            raise ImproperlyConfigured("A prepared read of model rows takes no annotations.")
        self.params = list(params)
        self.slots = {}
        for name, stand_in in stand_ins.items():
            found = [index for index, value in enumerate(self.params) if value == stand_in]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"The stand-in for {name!r} appears {len(found)} times in the compiled "
                    "parameters; give it a value nothing else in the query has."
                )
            self.slots[name] = found[0]
        self.model = queryset.model
        self.db = using
        if self.models:
            # How ModelIterable turns a row into the model and its select_related relations.
            klass_info, select = self.compiler.klass_info, self.compiler.select
            fields = klass_info["select_fields"]
            self.model_columns = slice(fields[0], fields[-1] + 1)
            self.attnames = [column[0].target.attname for column in select[self.model_columns]]
            self.populators = get_related_populators(klass_info, select, using)


class PreparedRead:
    """`PreparedRead(build, name=stand_in, ...)`: `build(name=...)` returns the queryset;
    `read.rows(name=value)` returns its model instances (or tuples for `values_list`)."""

    def __init__(self, build: Callable[..., QuerySet], **stand_ins):
        for name, value in stand_ins.items():
            if type(value) not in (int, str):
                raise ImproperlyConfigured(f"{name!r}: stand-ins are ints or strings.")
        self._build = build
        self._stand_ins = stand_ins
        # One compiler per connection object: a compiler runs its SQL on the connection it was
        # made with, and each thread (each async context too) has connection objects of its own.
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _prepared(self, using: str) -> _Prepared:
        connection = connections[using]
        prepared = self._compiled.get(connection)
        if prepared is None:
            queryset = self._build(**self._stand_ins).using(using)
            prepared = self._compiled[connection] = _Prepared(queryset, using, self._stand_ins)
        return prepared

    def rows(self, *, using: str = DEFAULT_DB_ALIAS, **values) -> list:
        if values.keys() != self._stand_ins.keys():
            raise TypeError(f"Expected the parameters {sorted(self._stand_ins)}.")
        prepared = self._prepared(using)
        params = list(prepared.params)
        for name, index in prepared.slots.items():
            value = values[name]
            if type(value) is not type(self._stand_ins[name]):
                raise TypeError(f"{name!r} must be {type(self._stand_ins[name]).__name__}.")
            params[index] = value
        # A copy of the compiled compiler (it shares the select list and klass_info, which
        # nothing changes) whose execute_sql() gets the SQL compiled before with these values:
        # a connection shared between threads (a live test server's) may run two at once.
        compiler = copy.copy(prepared.compiler)
        compiler.as_sql = lambda *args, **kwargs: (prepared.sql, tuple(params))
        results = compiler.execute_sql(MULTI)
        rows = list(compiler.results_iter(results, tuple_expected=not prepared.models))
        if not prepared.models:
            return rows
        return self._instances(prepared, rows)

    @staticmethod
    def _instances(prepared: _Prepared, rows: list) -> list:
        """What ModelIterable makes of the rows (no annotations or known related objects: a
        prepared read has neither)."""
        objects = []
        for row in rows:
            obj = prepared.model.from_db(
                prepared.db, prepared.attnames, row[prepared.model_columns]
            )
            for populator in prepared.populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects
