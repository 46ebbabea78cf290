"""Messaging: text, rich text, images, files, cards, batches and the message lifecycle."""

from ._async_client import DEFAULT_BATCH_CONCURRENCY, AsyncMessagingClient, BatchProgress
from ._build import infer_receive_id_type
from ._limiter import (
    DEFAULT_PER_APP,
    DEFAULT_PER_APP_PER_MINUTE,
    DEFAULT_PER_RECEIVER,
    FEISHU_PER_APP,
    FEISHU_PER_APP_PER_MINUTE,
    FEISHU_PER_RECEIVER,
    SendRateLimiter,
)
from ._media import (
    FILE_TYPES,
    IMAGE_FORMATS,
    MAX_FILE_BYTES,
    MAX_IMAGE_BYTES,
    detect_file_type,
    sniff_image_format,
)
from ._sync_client import MessagingClient
from .models import (
    BatchItem,
    BatchResult,
    FileAsset,
    FileType,
    ImageAsset,
    ImageFormat,
    Message,
    MessageReceipt,
    MessageResource,
    MessageSender,
    ReceiveIdType,
)
from .post import Post, markdown_to_post

__all__ = [
    "DEFAULT_BATCH_CONCURRENCY",
    "DEFAULT_PER_APP",
    "DEFAULT_PER_APP_PER_MINUTE",
    "DEFAULT_PER_RECEIVER",
    "FEISHU_PER_APP",
    "FEISHU_PER_APP_PER_MINUTE",
    "FEISHU_PER_RECEIVER",
    "FILE_TYPES",
    "IMAGE_FORMATS",
    "MAX_FILE_BYTES",
    "MAX_IMAGE_BYTES",
    "AsyncMessagingClient",
    "BatchItem",
    "BatchProgress",
    "BatchResult",
    "FileAsset",
    "FileType",
    "ImageAsset",
    "ImageFormat",
    "Message",
    "MessageReceipt",
    "MessageResource",
    "MessageSender",
    "MessagingClient",
    "Post",
    "ReceiveIdType",
    "SendRateLimiter",
    "detect_file_type",
    "infer_receive_id_type",
    "markdown_to_post",
    "sniff_image_format",
]
