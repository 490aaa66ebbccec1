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
_cow = threading.local()


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


def _copy_update_trees_from_bytes(p: Patcher) -> None:
    import pickle

    from moto.dynamodb.parsing.validators import Validator

    # id -> (the tree, its pickle): the tree is kept so its id cannot be reused by another.
    frozen: dict[int, tuple[Any, bytes]] = {}

    def init(self: Any, expression: Any, expression_attribute_names: Any, expression_attribute_values: Any,
             item: Any, table: Any) -> None:
        self.expression_attribute_names = expression_attribute_names
        self.expression_attribute_values = expression_attribute_values
        self.item = item
        self.table = table
        self.processors = self.get_ast_processors()
        hit = frozen.get(id(expression))
        if hit is None or hit[0] is not expression:
            blob = pickle.dumps(expression, protocol=pickle.HIGHEST_PROTOCOL)
            if len(frozen) > 1024:
                frozen.clear()
            frozen[id(expression)] = (expression, blob)
        else:
            blob = hit[1]
        self.node_to_validate = pickle.loads(blob)  # a private copy, as deepcopy made
        self._ecomctl_tree = blob  # the tree's identity, for dynamodb-update-structure-checks-once

    p.set(Validator, "__init__", init)


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


STRUCTURE_CHECKS = 3  # get_ast_processors' first three: action counts, overlapping paths, key attributes


def _structure_checks_once(p: Patcher) -> None:
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    passed: set[tuple[bytes, str, tuple[str, ...]]] = set()

    def validate(self: Any) -> Any:
        tree = getattr(self, "_ecomctl_tree", None)  # set by dynamodb-update-tree-copy
        key = None
        if tree is not None:
            key = (tree, json.dumps(self.expression_attribute_names or {}, sort_keys=True),
                   tuple(self.table.table_key_attrs))
        skip = STRUCTURE_CHECKS if key in passed else 0
        node = self.node_to_validate
        for i, processor in enumerate(self.processors):
            if i >= skip:
                node = processor.traverse(node)
            if i == STRUCTURE_CHECKS - 1 and key is not None and not skip:
                if len(passed) > 4096:
                    passed.clear()
                passed.add(key)  # reached only if the three checks did not raise
        return node

    p.set(UpdateExpressionValidator, "validate", validate)


def _top_level_only(update_expression: str) -> bool:
    """True when every action SETs or REMOVEs a whole top-level attribute: the executor then
    only assigns or deletes keys of the item's attribute dict, so a copy of that dict is a
    private item. Nested paths, ADD and DELETE change values in place and need a deep copy."""
    from moto.dynamodb.parsing.ast_nodes import (  # type: ignore[attr-defined]
        UpdateExpressionAddAction,
        UpdateExpressionDeleteAction,
        UpdateExpressionPath,
        UpdateExpressionRemoveAction,
        UpdateExpressionSetAction,
    )
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser  # type: ignore[attr-defined]

    actions = UpdateExpressionParser.make(update_expression).find_clauses(
        [UpdateExpressionSetAction, UpdateExpressionRemoveAction, UpdateExpressionAddAction,
         UpdateExpressionDeleteAction])
    for action in actions:
        if isinstance(action, (UpdateExpressionAddAction, UpdateExpressionDeleteAction)):
            return False
        path = action.children[0]
        if not isinstance(path, UpdateExpressionPath) or len(path.children) != 1:
            return False
    return True


OPTIMISTIC_ATTEMPTS = 8  # then the update runs under its table's lock


def _update_copy_on_write(p: Patcher) -> None:
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table
    from moto.dynamodb.responses import DynamoHandler

    original_update = DynamoDBBackend.update_item
    original_handler_update = DynamoHandler.update_item
    original_get = Table.get_item
    original_copy = Item.__deepcopy__
    top_level_only = functools.lru_cache(maxsize=1024)(_top_level_only)
    # Kept beside the tables, not on them: moto deep-copies tables (CloudFormation, transactions),
    # and a lock cannot be copied.
    locks: dict[int, threading.RLock] = {}

    def table_lock(table: Any) -> threading.RLock:
        return locks.get(id(table)) or locks.setdefault(id(table), threading.RLock())

    def item_deepcopy(self: Any, memo: dict[int, Any]) -> Any:
        state = _cow.__dict__
        if state.get("work") is self:
            return state["live"]  # the old image (for the stream): never changed, so no copy
        if state.get("stored_reads"):
            return self  # the response's "existing item": stored items are no longer changed in place
        return original_copy(self, memo)

    def get_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        state = _cow.__dict__
        if state.get("redirect") is self:
            state["redirect"] = None  # once: the update's own lookup of the item it changes
            return state["work"]
        return original_get(self, *args, **kwargs)

    def private_copy(live: Any, update_expression: str | None) -> Any:
        if not update_expression or not top_level_only(update_expression):
            return original_copy(live, {})
        work = object.__new__(type(live))
        work.__dict__.update(live.__dict__)
        work.attrs = dict(live.attrs)
        return work

    def stored(table: Any, hash_value: Any, range_value: Any) -> tuple[dict[Any, Any], Any]:
        if range_value is None:
            return table.items, hash_value
        return table.items[hash_value], range_value

    def argument(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str) -> Any:
        return kwargs[name] if name in kwargs else (args[index] if len(args) > index else None)

    def update_once(self: Any, table: Any, keys: tuple[Any, Any], live: Any,
                    args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[bool, Any]:
        """moto's update on a private copy of ``live``; the copy is swapped in if ``live`` is still stored."""
        work = private_copy(live, argument(args, kwargs, 2, "update_expression"))
        _cow.redirect, _cow.work, _cow.live = table, work, live
        try:
            result = original_update(self, *args, **kwargs)
        finally:
            _cow.redirect = _cow.work = _cow.live = None
        with table_lock(table):
            items, key = stored(table, *keys)
            if items.get(key) is not live:
                return False, None  # another write came between: run again on what it left
            items[key] = work
        return True, result

    def current(self: Any, table: Any, key: Any) -> tuple[tuple[Any, Any], Any]:
        try:
            keys = self.get_keys_value(table, key)
            return keys, original_get(table, *keys)
        except Exception:  # moto's own update raises the right error for a bad key
            return (None, None), None

    def update_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        table = self.tables.get(argument(args, kwargs, 0, "table_name"))
        if table is None:
            return original_update(self, *args, **kwargs)
        key = argument(args, kwargs, 1, "key")
        # Optimistic: no lock while moto works (a lock held across the GIL's switches queued every
        # writer of the table behind it); a write that came between makes the update run again.
        if table.stream_shard is None:  # a stream must see each update once
            for _ in range(OPTIMISTIC_ATTEMPTS):
                keys, live = current(self, table, key)
                if live is None:
                    break  # a new item: moto creates and fills it, under the lock below
                done, result = update_once(self, table, keys, live, args, kwargs)
                if done:
                    return result
        with table_lock(table):
            keys, live = current(self, table, key)
            if live is None:
                return original_update(self, *args, **kwargs)
            return update_once(self, table, keys, live, args, kwargs)[1]

    def handler_update_item(self: Any) -> Any:
        _cow.stored_reads = True
        try:
            return original_handler_update(self)
        finally:
            _cow.stored_reads = False

    def under_table_lock(original: Any) -> Any:
        def write(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            table = self.tables.get(table_name)
            if table is None:
                return original(self, table_name, *args, **kwargs)
            with table_lock(table):
                return original(self, table_name, *args, **kwargs)

        return write

    p.set(Item, "__deepcopy__", item_deepcopy)
    p.set(Table, "get_item", get_item)
    p.set(DynamoDBBackend, "update_item", update_item)
    p.set(DynamoDBBackend, "put_item", under_table_lock(DynamoDBBackend.put_item))
    p.set(DynamoDBBackend, "delete_item", under_table_lock(DynamoDBBackend.delete_item))
    p.set(DynamoHandler, "update_item", handler_update_item)


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

UPDATE_TREE_COPY = Patch(
    name="dynamodb-update-tree-copy",
    fingerprints={"moto.dynamodb.parsing.validators.Validator.__init__": "68516c2da4600116"},
    why="Each UpdateItem's validator deep-copies the expression tree it then rewrites: about 420 us a call "
        "with copy.deepcopy, 2 % of the platform's samples at 240/min and 5 % at 600/min (py-spy). With the "
        "tree cached by its text (dynamodb-update-expression-cache), the copy is unpickled from bytes kept "
        "per tree: about 55 us, the same private copy.",
    retire_when="moto's validator stops deep-copying the update expression (or copies it cheaply)",
    upstream_bug="moto dynamodb Validator.__init__ deep-copies the UpdateExpression AST per request "
                 "(copy.deepcopy, ~0.4 ms)",
    apply=_copy_update_trees_from_bytes,
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

UPDATE_COPY_ON_WRITE = Patch(
    name="dynamodb-update-copy-on-write",
    kind="fix",
    fingerprints={
        "moto.dynamodb.models.DynamoDBBackend.update_item": "f1d5d4acae8ed91c",
        "moto.dynamodb.models.DynamoDBBackend.put_item": "b043f1999f49f820",
        "moto.dynamodb.models.DynamoDBBackend.delete_item": "a03a3f819a3f4344",
        "moto.dynamodb.models.dynamo_type.Item.__deepcopy__": "1ccd3e66db82205d",
        "moto.dynamodb.models.table.Table.get_item": "9e8ab8ae75cdba46",
        "moto.dynamodb.responses.DynamoHandler.update_item": "7359c5eabebb068c",
        "moto.dynamodb.parsing.executors.SetExecutor.set": "48aa8d92409a63b5",
        "moto.dynamodb.parsing.executors.RemoveExecutor.execute": "67930bb5b09b4d9d",
        "moto.dynamodb.parsing.validators.UpdateExpressionFunctionEvaluator.process_function": "c555beaf6ebcc4c3",
    },
    why="UpdateItem changes the stored item in place, one action at a time, and the server is threaded: a "
        "reader could see half an update (an order CANCELLED with no reason yet, seen once in CI); an update "
        "that fails half way (an ADD that finds a string after a SET ran) stayed half applied; two writes to "
        "one item could both pass their condition (two requests with one Idempotency-Key could both claim it "
        "with attribute_not_exists) or lose an update. It also deep-copied the item twice a call for old "
        "images (3.0 % of the platform's samples at 400/min). Now an update runs on a private copy (of the "
        "attribute dict when every action SETs or REMOVEs a whole top-level attribute, which the executor only "
        "assigns or deletes; a deep copy otherwise) that replaces the stored item only if no other write came "
        "between, else it runs again (optimistic: a lock held through moto's work, across the GIL's switches, "
        "queued every writer of the table); PutItem and DeleteItem take the table's lock. The stored item is "
        "never changed, so both old images are the stored item itself.",
    retire_when="moto applies single-item writes atomically (on a copy swapped in, or under a lock)",
    upstream_bug="moto dynamodb UpdateItem mutates the stored item in place: concurrent GetItem sees partial "
                 "updates, a failed update stays half applied, and conditional writes are not atomic",
    apply=_update_copy_on_write,
)

UPDATE_STRUCTURE_CHECKS_ONCE = Patch(
    name="dynamodb-update-structure-checks-once",
    fingerprints={
        "moto.dynamodb.parsing.validators.Validator.validate": "453f3cb18b8871c8",
        "moto.dynamodb.parsing.validators.UpdateExpressionValidator.get_ast_processors": "f1451de5977cf8b1",
        "moto.dynamodb.parsing.validators.ActionCountValidator.verify_action_counts": "d07056f49d7f86db",
        "moto.dynamodb.parsing.validators.OverlappingPathsValidator.check_for_overlapping_paths":
            "3b6b180f4dc56335",
        "moto.dynamodb.parsing.validators.UpdateHashRangeKeyValidator.check_for_hash_or_range_key":
            "09d5996ba17acef1",
    },
    why="UpdateItem's validator walks the expression tree once per processor, ten walks a call. The first "
        "three only check the expression's shape (one SET/ADD/REMOVE clause each, no overlapping paths, no key "
        "attribute updated) and change nothing: their answer depends on the expression, its attribute names "
        "and the table's key attributes. Once those have passed, the three walks are skipped for the same "
        "three; values, the item and types are still validated on every call. Needs dynamodb-update-tree-copy "
        "(without it nothing is skipped).",
    retire_when="moto caches the expression-only checks or folds the processors into fewer walks",
    upstream_bug="moto dynamodb UpdateExpressionValidator traverses the AST once per processor (10 walks per "
                 "UpdateItem), including three item-independent checks",
    apply=_structure_checks_once,
)

PATCHES = (ITEM_LEVEL_TRANSACTIONS, UPDATE_EXPRESSION_CACHE, UPDATE_TREE_COPY, CONDITION_EXPRESSION_CACHE,
           UPDATE_COPY_ON_WRITE, UPDATE_STRUCTURE_CHECKS_ONCE)
