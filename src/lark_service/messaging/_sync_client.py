# Generated from src/lark_service/messaging/_async_client.py by scripts/unasync.py: edit that file instead.
"""``client.messaging``: sending and managing IM messages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, get_args

from .. import _concurrency, errors
from .._sync_resource import Resource
from .._http import ApiResponse
from .._paths import api_path
from ..cards._schema import allows_shared_update, card_content
from ._build import (
    EDITABLE_TYPES,
    build_edit_body,
    build_message_body,
    build_reply_body,
    check_message_id,
    check_receiver,
    check_uuid,
    content_disposition_filename,
    content_for,
    post_content,
    resource_key,
    resource_of,
    text_content,
)
from ._limiter import SendRateLimiter
from ._media import MediaSource, is_file_key, is_image_key, prepare_file, prepare_image
from .models import (
    BatchItem,
    BatchResult,
    FileAsset,
    ImageAsset,
    Message,
    MessageReceipt,
    MessageResource,
    ReceiveIdType,
)
from .post import Post, markdown_to_post

__all__ = ["DEFAULT_BATCH_CONCURRENCY", "MessagingClient", "BatchProgress"]

_MESSAGES = "/open-apis/im/v1/messages"
_IMAGES = "/open-apis/im/v1/images"
_FILES = "/open-apis/im/v1/files"
DEFAULT_BATCH_CONCURRENCY = 10
_UPLOAD_TYPE = {"audio": "opus", "media": "mp4"}
_RECEIVE_ID_TYPES: tuple[str, ...] = get_args(ReceiveIdType)

BatchProgress = Callable[[BatchItem, int, int], None]
"""``progress(item, done, total)``: called once per receiver as it finishes (from worker
threads in the sync client, so keep it quick and thread-safe)."""


class MessagingClient(Resource):
    """Messages: send, upload, reply, edit, update, recall, read (``im/v1``)."""

    @property
    def limiter(self) -> SendRateLimiter:
        """Paces :meth:`send_batch` (45/s per app, 4.5/s per receiver: under Feishu's 50 and
        5); replaceable, e.g. ``SendRateLimiter(per_app=20)`` to leave room for others.
        Shared by every ``with_options`` / ``as_user`` copy of the client."""
        return self._shared("messaging.limiter", self._default_limiter)

    @limiter.setter
    def limiter(self, limiter: SendRateLimiter) -> None:
        self._pipeline.set_shared("messaging.limiter", limiter)

    def _default_limiter(self) -> SendRateLimiter:
        # the pipeline's own pacer: batch sends and single sends share one set of windows
        limiter = SendRateLimiter()
        limiter.pacer = self._pipeline.pacer
        return limiter

    # -- sending ---------------------------------------------------------------------------

    def send_message(
        self,
        receive_id: str,
        content: Any,
        *,
        msg_type: str = "text",
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send any message type: ``content`` as :func:`~._build.content_for` takes it (an
        image, file, opus audio or mp4 video given as a path or bytes is uploaded first).

        ``POST /open-apis/im/v1/messages`` (with a ``uuid``, reused by every retry). Raises
        ValidationError before sending; NotFoundError / InvalidParameterError for unknown
        receivers, PermissionDeniedError when the bot is not in the chat.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        content = self._media_content(msg_type, content, app_id)
        body = build_message_body(
            receive_id, msg_type, content_for(msg_type, content), message_uuid=check_uuid(uuid)
        )
        return self._send(id_type, body, app_id)

    def send_text_message(
        self,
        receive_id: str,
        text: str,
        *,
        mentions: Sequence[str] | Mapping[str, str] | None = None,
        at_all: bool = False,
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send a text message to a user, chat or email; ``mentions`` (open_ids) and
        ``at_all`` put @-mentions in front.

        ``POST /open-apis/im/v1/messages``. Raises ValidationError (empty id or text, bad
        mention, text over 150 KB) before sending; NotFoundError / InvalidParameterError for
        unknown receivers, PermissionDeniedError when the bot is not in the chat.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        content = text_content(text, mentions=mentions, at_all=at_all)
        body = build_message_body(receive_id, "text", content, message_uuid=check_uuid(uuid))
        return self._send(id_type, body, app_id)

    def send_rich_text_message(
        self,
        receive_id: str,
        post: Post | Mapping[str, Any],
        *,
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send a rich text (``post``) message: a :class:`Post` or ``{"zh_cn": {...}}``.

        ``POST /open-apis/im/v1/messages``. Raises ValidationError (bad shape, over 30 KB)
        before sending; InvalidParameterError (230001) for content Feishu rejects.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        body = build_message_body(
            receive_id, "post", post_content(post), message_uuid=check_uuid(uuid)
        )
        return self._send(id_type, body, app_id)

    def send_markdown_message(
        self,
        receive_id: str,
        markdown: str,
        *,
        title: str | None = None,
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send Markdown as a rich text message (see :func:`markdown_to_post`).

        ``POST /open-apis/im/v1/messages``. Raises ValidationError (empty, over 30 KB) before
        sending; the errors of :meth:`send_rich_text_message`.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        post = markdown_to_post(markdown, title=title)
        body = build_message_body(
            receive_id, "post", post.to_content(), message_uuid=check_uuid(uuid)
        )
        return self._send(id_type, body, app_id)

    def send_image_message(
        self,
        receive_id: str,
        image: MediaSource,
        *,
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send an image: an ``image_key`` (``img_…``), or a path / bytes uploaded first.

        ``POST /open-apis/im/v1/images`` (when uploading), then ``POST …/im/v1/messages``.
        Raises ValidationError (not an image, empty, over 10 MB) before any request;
        InvalidParameterError for an unknown image_key.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        image_key = self._image_key(image, app_id)
        body = build_message_body(
            receive_id, "image", {"image_key": image_key}, message_uuid=check_uuid(uuid)
        )
        return self._send(id_type, body, app_id)

    def send_file_message(
        self,
        receive_id: str,
        file: MediaSource,
        *,
        file_name: str | None = None,
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send a file: a ``file_key`` (``file_…``), or a path / bytes uploaded first (its
        ``file_type`` read from the content).

        ``POST /open-apis/im/v1/files`` (when uploading), then ``POST …/im/v1/messages``.
        Raises ValidationError (empty, over 30 MB) before any request; InvalidParameterError
        for an unknown file_key.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        file_key = self._file_key(file, file_name, app_id)
        body = build_message_body(
            receive_id, "file", {"file_key": file_key}, message_uuid=check_uuid(uuid)
        )
        return self._send(id_type, body, app_id)

    def send_interactive_card(
        self,
        receive_id: str,
        card: Any,
        *,
        receive_id_type: ReceiveIdType | None = None,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Send a card: a :class:`~lark_service.cards.Card`, a v1 or v2 card dict, a template
        (``template_card(...)``) or a CardKit ``card_id`` reference.

        ``POST /open-apis/im/v1/messages`` (``msg_type=interactive``). Raises ValidationError
        (not a card, over 30 KB) before sending; InvalidParameterError (230099) for a card
        Feishu cannot render.
        """
        id_type = check_receiver(receive_id, receive_id_type)
        body = build_message_body(
            receive_id, "interactive", card_content(card), message_uuid=check_uuid(uuid)
        )
        return self._send(id_type, body, app_id)

    def _send(
        self, id_type: str, body: dict[str, Any], app_id: str | None, *, paced: bool = False
    ) -> Message:
        receiver = f"{id_type}:{body['receive_id']}"
        response = self._request(
            "POST",
            _MESSAGES,
            options=self._opts(app_id=app_id, pacing_key=receiver, pace=False if paced else None),
            params={"receive_id_type": id_type},
            json=body,
        )
        return Message.from_response(response)

    # -- uploads and downloads -------------------------------------------------------------

    def upload_image(
        self, image: MediaSource, *, image_type: str = "message", app_id: str | None = None
    ) -> ImageAsset:
        """Upload an image (JPEG, PNG, WEBP, GIF, TIFF, BMP or ICO, at most 10 MB).

        ``POST /open-apis/im/v1/images`` (multipart). The type is read from the content.
        Not retried after a failure Feishu may have processed (a read timeout, a dropped
        connection, a 5xx): that raises instead of uploading twice. Raises ValidationError
        (empty, too big, not an image, bad image_type) before any request;
        PermissionDeniedError without the ``im:resource`` scope; TransportError / ServerError
        when the upload may or may not have happened.
        """
        if image_type not in ("message", "avatar"):
            raise errors.ValidationError(
                f"image_type must be 'message' or 'avatar', not {image_type!r}",
                field="image_type",
            )
        upload = _concurrency.blocking(prepare_image, image)
        response = self._request(
            "POST",
            _IMAGES,
            options=self._opts(app_id=app_id, idempotent=False),
            data={"image_type": image_type},
            files={"image": (upload.file_name, upload.data, upload.mime_type)},
        )
        return ImageAsset.from_response(
            response,
            data={
                **response.data,
                "image_format": upload.image_format,
                "size": len(upload.data),
            },
        )

    def upload_file(
        self,
        file: MediaSource,
        *,
        file_name: str | None = None,
        file_type: str | None = None,
        duration_ms: int | None = None,
        app_id: str | None = None,
    ) -> FileAsset:
        """Upload a file (at most 30 MB) as opus, mp4, pdf, doc, xls, ppt or stream.

        ``POST /open-apis/im/v1/files`` (multipart). ``file_type`` is read from the content
        unless given; ``duration_ms`` is for audio and video. Not retried after a failure
        Feishu may have processed (read timeout, dropped connection, 5xx). Raises
        ValidationError (empty, too big, bad file_type) before any request; TransportError /
        ServerError when the upload may or may not have happened.
        """
        upload = _concurrency.blocking(
            prepare_file, file, file_name=file_name, file_type=file_type
        )
        form: dict[str, str] = {"file_type": upload.file_type, "file_name": upload.file_name}
        if duration_ms is not None:
            if not isinstance(duration_ms, int) or duration_ms < 0:
                raise errors.ValidationError(
                    "duration_ms must be a non-negative int", field="duration_ms"
                )
            form["duration"] = str(duration_ms)
        response = self._request(
            "POST",
            _FILES,
            data=form,
            files={"file": (upload.file_name, upload.data, upload.mime_type)},
            options=self._opts(app_id=app_id, idempotent=False),
        )
        return FileAsset.from_response(
            response,
            data={
                **response.data,
                "file_type": upload.file_type,
                "file_name": upload.file_name,
                "size": len(upload.data),
            },
        )

    def download_image(self, image_key: str, *, app_id: str | None = None) -> MessageResource:
        """Download an image this app uploaded.

        ``GET /open-apis/im/v1/images/:image_key``. Raises ValidationError for a bad key;
        InvalidParameterError / PermissionDeniedError for a key of another app.
        """
        key = resource_key(image_key, "image_key")
        response = self._request(
            "GET",
            api_path(_IMAGES + "/{image_key}", image_key=key),
            binary=True,
            options=self._opts(app_id=app_id),
        )
        return _resource(response)

    def download_file(self, file_key: str, *, app_id: str | None = None) -> MessageResource:
        """Download a file this app uploaded.

        ``GET /open-apis/im/v1/files/:file_key``. Raises ValidationError for a bad key;
        InvalidParameterError / PermissionDeniedError for a key of another app.
        """
        key = resource_key(file_key, "file_key")
        response = self._request(
            "GET",
            api_path(_FILES + "/{file_key}", file_key=key),
            binary=True,
            options=self._opts(app_id=app_id),
        )
        return _resource(response)

    def download_message_resource(
        self,
        message_id: str,
        file_key: str,
        *,
        resource_type: str = "file",
        app_id: str | None = None,
    ) -> MessageResource:
        """Download an image or file from a message (``resource_type`` ``image`` or
        ``file``; audio and video are ``file``).

        ``GET /open-apis/im/v1/messages/:message_id/resources/:file_key?type=``. Raises
        ValidationError for bad ids; InvalidParameterError when the key is not in the message
        (234043 for card resources).
        """
        message_id = check_message_id(message_id)
        key = resource_key(file_key, "file_key")
        response = self._request(
            "GET",
            api_path(
                _MESSAGES + "/{message_id}/resources/{file_key}",
                message_id=message_id,
                file_key=key,
            ),
            params={"type": resource_of(resource_type)},
            binary=True,
            options=self._opts(app_id=app_id),
        )
        return _resource(response)

    def _image_key(self, image: Any, app_id: str | None) -> str:
        if is_image_key(image):
            return str(image)
        return (self.upload_image(image, app_id=app_id)).image_key

    def _file_key(self, file: Any, file_name: str | None, app_id: str | None) -> str:
        if is_file_key(file):
            return str(file)
        return (self.upload_file(file, file_name=file_name, app_id=app_id)).file_key

    def _media_content(self, msg_type: str, content: Any, app_id: str | None) -> Any:
        """Upload a path or bytes given for an image, file, audio (opus) or media (mp4)
        message; anything else unchanged."""
        if isinstance(content, Mapping) or (
            isinstance(content, str) and (is_image_key(content) or is_file_key(content))
        ):
            return content
        if msg_type == "image":
            return self._image_key(content, app_id)
        if msg_type == "file":
            return self._file_key(content, None, app_id)
        want = _UPLOAD_TYPE.get(msg_type)
        if want is None:
            return content
        upload = _concurrency.blocking(prepare_file, content)
        if upload.file_type != want:
            raise errors.ValidationError(
                f"a {msg_type} message needs an {want} file, and this one is "
                f"{upload.file_type} (read from its content)",
                field="content",
            )
        asset = self.upload_file(
            upload.data, file_name=upload.file_name, file_type=want, app_id=app_id
        )
        return asset.file_key

    # -- lifecycle -------------------------------------------------------------------------

    def reply_message(
        self,
        message_id: str,
        content: Any,
        *,
        msg_type: str = "text",
        reply_in_thread: bool = False,
        uuid: str | None = None,
        app_id: str | None = None,
    ) -> Message:
        """Reply to a message (a ``str`` is text), optionally in its thread.

        ``POST /open-apis/im/v1/messages/:message_id/reply`` (with a ``uuid`` reused by
        retries). Raises ValidationError before sending; NotFoundError (230011) when the
        message was recalled, InvalidParameterError for thread replies where unsupported.
        """
        message_id = check_message_id(message_id)
        content = self._media_content(msg_type, content, app_id)
        body = build_reply_body(
            msg_type,
            content_for(msg_type, content),
            reply_in_thread=bool(reply_in_thread),
            message_uuid=check_uuid(uuid),
        )
        response = self._request(
            "POST",
            api_path(_MESSAGES + "/{message_id}/reply", message_id=message_id),
            json=body,
            options=self._opts(app_id=app_id),
        )
        return Message.from_response(response)

    def edit_message(
        self, message_id: str, text: str | Post | Mapping[str, Any], *, app_id: str | None = None
    ) -> Message:
        """Edit a text message (``text`` a str) or a rich text one (a Post or post dict).

        ``PUT /open-apis/im/v1/messages/:message_id`` (at most 20 edits, own messages only).
        Each edit counts, so it is not retried after a failure Feishu may have processed (a
        read timeout, a dropped connection, a 5xx). Raises ValidationError before sending;
        NotFoundError (230011) for a recalled message, InvalidParameterError (230054) for
        other message types or past the edit limit; TransportError / ServerError when the
        edit may or may not have been applied (read the message to know).
        """
        message_id = check_message_id(message_id)
        msg_type = "text" if isinstance(text, str) else "post"
        assert msg_type in EDITABLE_TYPES
        body = build_edit_body(msg_type, content_for(msg_type, text))
        response = self._request(
            "PUT",
            api_path(_MESSAGES + "/{message_id}", message_id=message_id),
            json=body,
            options=self._opts(app_id=app_id, idempotent=False),
        )
        return Message.from_response(response)

    def update_card(
        self, message_id: str, card: Any, *, app_id: str | None = None
    ) -> MessageReceipt:
        """Replace a sent card for everyone (a shared card: ``config.update_multi``).

        ``PATCH /open-apis/im/v1/messages/:message_id``. Raises ValidationError (not a card,
        a v1 card without ``"update_multi": true``, over 30 KB) before sending;
        InvalidParameterError when the sent card was not shared, NotFoundError (230011) when
        recalled.
        """
        message_id = check_message_id(message_id)
        content = card_content(card)
        if not allows_shared_update(content):
            raise errors.ValidationError(
                'the card must allow shared updates: set "config": {"update_multi": true}',
                field="card",
                hint="Feishu needs update_multi before and after an update (the default in "
                "JSON 2.0 cards).",
            )
        response = self._request(
            "PATCH",
            api_path(_MESSAGES + "/{message_id}", message_id=message_id),
            json=build_edit_body("interactive", content),
            options=self._opts(app_id=app_id),
        )
        return MessageReceipt.from_response(response, data={"message_id": message_id})

    def recall_message(self, message_id: str, *, app_id: str | None = None) -> MessageReceipt:
        """Recall (delete) a message this app sent.

        ``DELETE /open-apis/im/v1/messages/:message_id``. Not retried after a failure Feishu
        may have processed (a retry would answer 230011 for a recall that worked). Raises
        ValidationError for a bad id; NotFoundError (230011) when already recalled,
        PermissionDeniedError for messages of others; TransportError / ServerError when the
        recall may or may not have happened (``get_message(...).deleted`` tells).
        """
        message_id = check_message_id(message_id)
        response = self._request(
            "DELETE",
            api_path(_MESSAGES + "/{message_id}", message_id=message_id),
            options=self._opts(app_id=app_id, idempotent=False),
        )
        return MessageReceipt.from_response(response, data={"message_id": message_id})

    def get_message(self, message_id: str, *, app_id: str | None = None) -> Message:
        """Read a message (its content, sender, thread ids, edit and recall flags).

        ``GET /open-apis/im/v1/messages/:message_id``. A recalled message comes back with
        ``deleted=True``. Raises ValidationError for a bad id; InvalidParameterError (230001)
        for an unknown message id.
        """
        message_id = check_message_id(message_id)
        response = self._request(
            "GET",
            api_path(_MESSAGES + "/{message_id}", message_id=message_id),
            options=self._opts(app_id=app_id),
        )
        items = response.data.get("items") or []
        if not items or not isinstance(items[0], dict):
            raise errors.NotFoundError(
                f"message {message_id} was not returned",
                request_id=response.request_id,
                log_id=response.log_id,
            )
        return Message.from_response(response, data=items[0])

    # -- batches ---------------------------------------------------------------------------

    def send_batch(
        self,
        receive_ids: Iterable[str],
        content: Any,
        *,
        msg_type: str = "text",
        concurrency: int = DEFAULT_BATCH_CONCURRENCY,
        progress: BatchProgress | None = None,
        receive_id_type: ReceiveIdType | None = None,
        app_id: str | None = None,
    ) -> BatchResult:
        """Send one message to many receivers: one result per receiver, never raising for
        the ones that fail.

        ``POST /open-apis/im/v1/messages`` per receiver (each with its own ``uuid``), paced
        by :attr:`limiter` (under Feishu's 50/s per app, 5/s per receiver) and run
        ``concurrency`` at a time. Duplicate ids are sent once. Images and files given as a
        path or bytes are uploaded once. Raises ValidationError for bad content,
        ``concurrency`` or an empty list, and ConfigError for the app, before sending
        anything (an unknown ``receive_id_type`` too: it would fail every entry); a bad or
        failing receiver only fails its own entry (``BatchItem.error``).
        """
        if receive_id_type is not None and receive_id_type not in _RECEIVE_ID_TYPES:
            raise errors.ValidationError(
                f"receive_id_type {receive_id_type!r} is not one of "
                f"{', '.join(_RECEIVE_ID_TYPES)}; it applies to every receiver, so nothing "
                "was sent",
                field="receive_id_type",
            )
        if isinstance(receive_ids, str) or not isinstance(receive_ids, Iterable):
            raise errors.ValidationError(
                "receive_ids must be a list of ids, not "
                + ("a single str" if isinstance(receive_ids, str) else type(receive_ids).__name__),
                field="receive_ids",
            )
        receivers = list(dict.fromkeys(receive_ids))
        if not receivers:
            raise errors.ValidationError("receive_ids is empty", field="receive_ids")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise errors.ValidationError(
                f"concurrency must be an int >= 1, got {concurrency!r}", field="concurrency"
            )
        app = self._app_id(app_id)
        content = self._media_content(msg_type, content, app)
        message_content = content_for(msg_type, content)
        longest = max((r for r in receivers if isinstance(r, str)), key=len, default="")
        build_message_body(longest, msg_type, message_content)  # size check, once for all
        total = len(receivers)
        finished = [0]
        lock = threading.Lock()

        def send_one(receive_id: str) -> BatchItem:
            item = self._batch_item(
                receive_id, msg_type, message_content, receive_id_type, app
            )
            if progress is not None:
                with lock:
                    finished[0] += 1
                    progress(item, finished[0], total)
            return item

        items = _concurrency.map_bounded(send_one, receivers, concurrency)
        return BatchResult(items=items)

    def _batch_item(
        self,
        receive_id: str,
        msg_type: str,
        content: dict[str, Any],
        receive_id_type: ReceiveIdType | None,
        app: str,
    ) -> BatchItem:
        # send_batch reports each receiver's failure in its entry instead of raising: this is
        # the one place in the domain that catches (the pipeline has already retried).
        try:
            id_type = check_receiver(receive_id, receive_id_type)
        except errors.ValidationError as exc:
            return BatchItem(receive_id, receive_id_type, error=exc)
        key = f"{id_type}:{receive_id}"
        delay = self.limiter.reserve(app, key)
        if delay > 0:
            _concurrency.sleep(delay)
        while (wait := self.limiter.admit(app, key)) > 0:
            _concurrency.sleep(wait)
        body = build_message_body(receive_id, msg_type, content)
        try:
            message = self._send(id_type, body, app, paced=True)
        except errors.LarkError as exc:
            return BatchItem(receive_id, id_type, error=exc)
        return BatchItem(receive_id, id_type, message=message)


def _resource(response: ApiResponse) -> MessageResource:
    return MessageResource.from_response(
        response,
        data={
            "content": response.content or b"",
            "file_name": content_disposition_filename(response.headers.get("content-disposition")),
            "content_type": response.headers.get("content-type"),
        },
    )
