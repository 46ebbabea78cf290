"""Feishu's long-connection wire format: the ``pbbp2`` protobuf frames, their headers and the
endpoint answer (reference §4).

The ``Frame`` / ``Header`` messages are declared here as a descriptor built at first use with
the ``protobuf`` runtime (``google.protobuf``), in a descriptor pool of our own — no generated
module, no hand-written codec, nothing done at import::

    message Header { required string key = 1; required string value = 2; }
    message Frame {
      required uint64 SeqID = 1;  required uint64 LogID = 2;
      required int32 service = 3; required int32 method = 4;   // 0 control, 1 data
      repeated Header headers = 5;
      optional string payload_encoding = 6; optional string payload_type = 7;
      optional bytes payload = 8;  optional string LogIDNew = 9;
    }

Used by both ends: :class:`~lark_service.longconn.LongConnection` and the emulator's
WebSocket server.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AUTH_FAILED",
    "ENDPOINT_PATH",
    "EXCEED_CONN_LIMIT",
    "FORBIDDEN",
    "HEADER_BIZ_RT",
    "HEADER_HANDSHAKE_AUTH_ERRCODE",
    "HEADER_HANDSHAKE_MSG",
    "HEADER_HANDSHAKE_STATUS",
    "HEADER_MESSAGE_ID",
    "HEADER_SEQ",
    "HEADER_SUM",
    "HEADER_TRACE_ID",
    "HEADER_TYPE",
    "INTERNAL_ERROR",
    "METHOD_CONTROL",
    "METHOD_DATA",
    "NO_CREDENTIAL",
    "SYSTEM_BUSY",
    "ClientConfig",
    "frame_class",
    "frame_headers",
    "new_frame",
    "parse_frame",
]

ENDPOINT_PATH = "/callback/ws/endpoint"

METHOD_CONTROL = 0
METHOD_DATA = 1

HEADER_TYPE = "type"  # event | card | ping | pong
HEADER_MESSAGE_ID = "message_id"
HEADER_SUM = "sum"
HEADER_SEQ = "seq"
HEADER_TRACE_ID = "trace_id"
HEADER_BIZ_RT = "biz_rt"
HEADER_HANDSHAKE_STATUS = "handshake-status"
HEADER_HANDSHAKE_MSG = "handshake-msg"
HEADER_HANDSHAKE_AUTH_ERRCODE = "handshake-autherrcode"

SYSTEM_BUSY = 1
FORBIDDEN = 403
AUTH_FAILED = 514
INTERNAL_ERROR = 1000040343
NO_CREDENTIAL = 1000040344
EXCEED_CONN_LIMIT = 1000040350


@functools.cache
def frame_class() -> Any:
    """The ``pbbp2.Frame`` message class (built once, on first use)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(
        name="lark_service/longconn/pbbp2.proto", package="pbbp2", syntax="proto2"
    )
    field = descriptor_pb2.FieldDescriptorProto
    required, optional, repeated = (
        field.LABEL_REQUIRED,
        field.LABEL_OPTIONAL,
        field.LABEL_REPEATED,
    )
    header = fdp.message_type.add(name="Header")
    header.field.add(name="key", number=1, type=field.TYPE_STRING, label=required)
    header.field.add(name="value", number=2, type=field.TYPE_STRING, label=required)
    frame = fdp.message_type.add(name="Frame")
    for name, number, ftype, label in (
        ("SeqID", 1, field.TYPE_UINT64, required),
        ("LogID", 2, field.TYPE_UINT64, required),
        ("service", 3, field.TYPE_INT32, required),
        ("method", 4, field.TYPE_INT32, required),
        ("payload_encoding", 6, field.TYPE_STRING, optional),
        ("payload_type", 7, field.TYPE_STRING, optional),
        ("payload", 8, field.TYPE_BYTES, optional),
        ("LogIDNew", 9, field.TYPE_STRING, optional),
    ):
        frame.field.add(name=name, number=number, type=ftype, label=label)
    frame.field.add(
        name="headers",
        number=5,
        type=field.TYPE_MESSAGE,
        label=repeated,
        type_name=".pbbp2.Header",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("pbbp2.Frame"))


def new_frame(
    *,
    method: int,
    service: int = 0,
    headers: dict[str, str] | None = None,
    payload: bytes | None = None,
    seq_id: int = 0,
    log_id: int = 0,
) -> Any:
    """A ``Frame`` with ``headers`` (in the given order) and ``payload``."""
    frame = frame_class()()
    frame.SeqID = seq_id
    frame.LogID = log_id
    frame.service = service
    frame.method = method
    for key, value in (headers or {}).items():
        h = frame.headers.add()
        h.key = key
        h.value = str(value)
    if payload is not None:
        frame.payload = payload
    return frame


def parse_frame(data: bytes) -> Any:
    """Decode one binary WebSocket message; raises ``ValueError`` when it is not a frame."""
    from google.protobuf.message import DecodeError

    frame = frame_class()()
    try:
        frame.ParseFromString(data)
    except (DecodeError, RuntimeError) as exc:  # RuntimeError: a required field missing
        raise ValueError(f"not a pbbp2 frame: {type(exc).__name__}") from None
    return frame


def frame_headers(frame: Any) -> dict[str, str]:
    """The frame's headers as a dict (the last value wins)."""
    return {h.key: h.value for h in frame.headers}


@dataclass(frozen=True)
class ClientConfig:
    """The server's connection settings (endpoint answer and pong payloads), in seconds.

    Feishu sends integers; ``-1`` reconnect count means "forever"."""

    reconnect_count: int = -1
    reconnect_interval: float = 120.0
    reconnect_nonce: float = 30.0
    ping_interval: float = 120.0

    def merged(self, raw: Any) -> ClientConfig:
        """This config updated with a ``ClientConfig`` JSON object (missing or bad values kept)."""
        if isinstance(raw, (bytes, str)):
            try:
                raw = json.loads(raw)
            except ValueError:
                return self
        if not isinstance(raw, dict):
            return self

        def num(key: str, current: float, low: float) -> float:
            value = raw.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return current
            return float(value) if value >= low else current

        count = raw.get("ReconnectCount")
        return ClientConfig(
            reconnect_count=int(count)
            if isinstance(count, int) and not isinstance(count, bool)
            else self.reconnect_count,
            reconnect_interval=num("ReconnectInterval", self.reconnect_interval, 0),
            reconnect_nonce=num("ReconnectNonce", self.reconnect_nonce, 0),
            ping_interval=num("PingInterval", self.ping_interval, 0.01),
        )

    def to_json(self) -> dict[str, Any]:
        """The wire form (``ReconnectCount`` ...)."""

        def out(v: float) -> float | int:
            return int(v) if float(v).is_integer() else v

        return {
            "ReconnectCount": self.reconnect_count,
            "ReconnectInterval": out(self.reconnect_interval),
            "ReconnectNonce": out(self.reconnect_nonce),
            "PingInterval": out(self.ping_interval),
        }
