"""Kinesis stream -> S3 lake delivery, as a Firehose delivery stream would do it.

moto's Firehose writes every Put straight to S3 and has no Kinesis-stream source, so
the local target delivers itself: read the analytics stream (GetRecords, every shard),
buffer records, and write one object when the buffer reaches the lake's buffer size or
its oldest record is ``buffer_interval_s`` old (Firehose's buffering hints), under the
topology's Firehose-style prefix with ``!{timestamp:...}`` rendered from the oldest
record's arrival time in UTC, named ``<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>``.
Records are concatenated as they are, as Firehose does. What is buffered at shutdown is
flushed, so nothing that reached the stream is lost.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from ecomshop.topology import Topology

log = logging.getLogger("ecomctl.local.firehose")

_JAVA_TO_STRFTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}
_TIMESTAMP = re.compile(r"!\{timestamp:([^}]+)\}")


def render_prefix(prefix: str, at: datetime) -> str:
    """Firehose's ``!{timestamp:<java date format>}`` namespace, for the patterns the topology uses."""

    def one(m: re.Match[str]) -> str:
        fmt = m.group(1)
        for java, py in _JAVA_TO_STRFTIME.items():
            fmt = fmt.replace(java, py)
        return at.astimezone(UTC).strftime(fmt)

    return _TIMESTAMP.sub(one, prefix)


def object_key(prefix: str, stream_name: str, at: datetime) -> str:
    stamp = at.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")
    return f"{render_prefix(prefix, at)}{stream_name}-1-{stamp}-{uuid.uuid4()}"


class FirehoseDelivery:
    def __init__(self, topology: Topology, kinesis: Any, s3: Any, stream: str, bucket: str,
                 buffer_interval_s: float | None = None, poll_s: float = 1.0) -> None:
        self.kinesis = kinesis
        self.s3 = s3
        self.stream = stream
        self.bucket = bucket
        self.prefix = topology.lake.prefix
        self.name = f"{topology.name(topology.lake.logical)}-delivery"
        self.interval_s = buffer_interval_s if buffer_interval_s is not None else topology.lake.buffer_interval_s
        self.size_limit = topology.lake.buffer_size_mib * 1024 * 1024
        self.poll_s = poll_s
        self._buffer: list[bytes] = []
        self._buffer_bytes = 0
        self._oldest: datetime | None = None
        self._iterators: dict[str, str] = {}
        self.delivered_records = 0
        self.delivered_objects = 0
        self._lock = threading.Lock()

    def _open(self) -> None:
        shards = self.kinesis.list_shards(StreamName=self.stream)["Shards"]
        for shard in shards:
            sid = shard["ShardId"]
            if sid not in self._iterators:
                self._iterators[sid] = self.kinesis.get_shard_iterator(
                    StreamName=self.stream, ShardId=sid, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def poll_once(self) -> int:
        if not self._iterators:
            self._open()
        got = 0
        for sid, iterator in list(self._iterators.items()):
            resp = self.kinesis.get_records(ShardIterator=iterator, Limit=10000)
            self._iterators[sid] = resp["NextShardIterator"]
            for record in resp["Records"]:
                arrived = record.get("ApproximateArrivalTimestamp")
                if not isinstance(arrived, datetime):
                    arrived = datetime.now(UTC)
                self._add(record["Data"], arrived)
                got += 1
        if self._due():
            self.flush()
        return got

    def _add(self, data: bytes, arrived: datetime) -> None:
        with self._lock:
            self._buffer.append(data)
            self._buffer_bytes += len(data)
            if self._oldest is None:
                self._oldest = arrived
        if self._buffer_bytes >= self.size_limit:
            self.flush()

    def _due(self) -> bool:
        oldest = self._oldest
        return oldest is not None and (datetime.now(UTC) - oldest).total_seconds() >= self.interval_s

    def flush(self) -> None:
        with self._lock:
            if not self._buffer:
                return
            records, oldest = self._buffer, self._oldest or datetime.now(UTC)
            self._buffer, self._buffer_bytes, self._oldest = [], 0, None
        key = object_key(self.prefix, self.name, oldest)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"".join(records))
        self.delivered_records += len(records)
        self.delivered_objects += 1

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("firehose stand-in: delivery round failed")
            stop.wait(self.poll_s)
        try:
            self.poll_once()
            self.flush()
        except Exception:
            log.exception("firehose stand-in: final flush failed")
