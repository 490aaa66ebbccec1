"""DynamoDB: transactions without table copies, expressions parsed once per text."""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from typing import Any

from ecomctl.local.patches.base import Patch, Patcher

_no_table_copy = threading.local()


def _snapshot_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    """(table, hash key, range key, a copy of the item or None) for every item the transaction names."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    snapshots: list[tuple[Any, Any, Any, Any]] = []
    for entry in transact_items:
        if len(entry) != 1:
            continue
        op_type, op = next(iter(entry.items()))
        table = backend.tables.get(op.get("TableName"))
        if table is None:
            continue
        source = op.get("Item") if op_type == "Put" else op.get("Key")
        if not isinstance(source, dict) or table.hash_key_attr not in source:
            continue
        hash_key = DynamoType(source[table.hash_key_attr])
        range_key = None
        if table.range_key_attr is not None:
            if table.range_key_attr not in source:
                continue
            range_key = DynamoType(source[table.range_key_attr])
        current = table.get_item(hash_key, range_key)
        snapshots.append((table, hash_key, range_key, copy.deepcopy(current)))
    return snapshots


def _item_level_transactions(p: Patcher) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items

    def table_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        if getattr(_no_table_copy, "on", False):
            return self  # the transaction below restores items itself
        cls = type(self)
        clone = object.__new__(cls)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            setattr(clone, key, copy.deepcopy(value, memo))
        return clone

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        snapshots = _snapshot_items(self, transact_items)
        _no_table_copy.on = True
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(snapshots):
                table.delete_item(hash_key, range_key)
                if item is not None:
                    if range_key is not None:
                        table.items[hash_key][range_key] = item
                    else:
                        table.items[hash_key] = item
            raise
        finally:
            _no_table_copy.on = False

    p.set(Table, "__deepcopy__", table_deepcopy)
    p.set(DynamoDBBackend, "transact_write_items", transact_write_items)


def _cache_update_expressions(p: Patcher) -> None:
    from moto.dynamodb.parsing import expressions

    parser: Any = expressions.UpdateExpressionParser  # type: ignore[attr-defined]
    make = parser.make.__func__
    cached = functools.lru_cache(maxsize=1024)(lambda expression: make(parser, expression))
    p.set(parser, "make", classmethod(lambda cls, expression: cached(expression)))


def _cache_condition_expressions(p: Patcher) -> None:
    from moto.dynamodb.comparisons import ConditionExpressionParser

    original = ConditionExpressionParser.parse
    placeholder = re.compile(r":[A-Za-z0-9_]+")
    cache: dict[tuple[str, str, str], tuple[Any, list[str], list[str]]] = {}

    def parse(self: Any) -> Any:
        expression = self.condition_expression
        if not expression:
            return original(self)
        values = self.expression_attribute_values or {}
        try:
            key = (expression, json.dumps(self.expression_attribute_names or {}, sort_keys=True),
                   json.dumps({p: values[p] for p in set(placeholder.findall(expression)) if p in values},
                              sort_keys=True))
        except (TypeError, ValueError):
            return original(self)
        hit = cache.get(key)
        if hit is None:
            op = original(self)  # invalid expressions raise here and are not cached
            if len(cache) > 4096:
                cache.clear()
            cache[key] = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            return op
        op, names_found, values_found = hit
        self.expr_attr_names_found.extend(names_found)
        self.expr_attr_values_found.extend(values_found)
        return op

    p.set(ConditionExpressionParser, "parse", parse)


ITEM_LEVEL_TRANSACTIONS = Patch(
    name="dynamodb-item-level-transactions",
    fingerprints={"moto.dynamodb.models.DynamoDBBackend.transact_write_items": "0b5c3b73cdccf326"},
    why="TransactWriteItems deep-copies every table it touches to roll back on failure: O(table size) per "
        "transaction, so the providers' ledger made each reservation slower than the last. The rollback "
        "snapshots and restores only the items the transaction names (same outcome: all or nothing).",
    retire_when="transact_write_items rolls back without copy.deepcopy of whole tables",
    upstream_bug="moto DynamoDBBackend.transact_write_items deep-copies each touched table for rollback: "
                 "O(table size) per transaction",
    apply=_item_level_transactions,
)

UPDATE_EXPRESSION_CACHE = Patch(
    name="dynamodb-update-expression-cache",
    fingerprints={
        "moto.dynamodb.parsing.expressions.UpdateExpressionParser.make": "7bda627b702e588f",
        "moto.dynamodb.models.DynamoDBBackend.update_item": "f1d5d4acae8ed91c",
        "moto.dynamodb.responses.DynamoHandler.update_item": "7359c5eabebb068c",
    },
    why="UpdateItem lexes and parses its update expression twice per call. The tree is only read, or "
        "deep-copied before the validator changes it, so it is cached by its text.",
    retire_when="UpdateItem parses its expression once (or caches it)",
    upstream_bug="moto dynamodb UpdateItem parses the same UpdateExpression twice per request "
                 "(responses + backend)",
    apply=_cache_update_expressions,
)

CONDITION_EXPRESSION_CACHE = Patch(
    name="dynamodb-condition-expression-cache",
    fingerprints={"moto.dynamodb.comparisons.ConditionExpressionParser.parse": "bb928a5fdd4e6de4"},
    why="Every conditional write lexes and parses its condition expression anew. The operator tree is never "
        "changed once built and depends only on the expression, the names and the values it references, so "
        "it is cached by those.",
    retire_when="moto caches parsed condition expressions",
    upstream_bug=None,
    apply=_cache_condition_expressions,
)

PATCHES = (ITEM_LEVEL_TRANSACTIONS, UPDATE_EXPRESSION_CACHE, CONDITION_EXPRESSION_CACHE)
