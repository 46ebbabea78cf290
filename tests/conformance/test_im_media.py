"""IM images, files and message resources through the official lark-oapi client."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest

from lark_service.testing.emulator.server import Emulator

CHAT = "oc_mediaconf"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 16
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture
def im(official: Callable[..., Any], lark_emulator: Emulator) -> Any:
    lark_emulator.add_chat(CHAT, "Media conformance")
    return official()


def upload_image(client: Any, data: bytes = PNG) -> Any:
    from lark_oapi.api.im.v1 import CreateImageRequest, CreateImageRequestBody

    return client.im.v1.image.create(
        CreateImageRequest.builder()
        .request_body(
            CreateImageRequestBody.builder().image_type("message").image(io.BytesIO(data)).build()
        )
        .build()
    )


def upload_file(client: Any, data: bytes = PDF, name: str = "季度.pdf") -> Any:
    from lark_oapi.api.im.v1 import CreateFileRequest, CreateFileRequestBody

    return client.im.v1.file.create(
        CreateFileRequest.builder()
        .request_body(
            CreateFileRequestBody.builder()
            .file_type("pdf")
            .file_name(name)
            .file(io.BytesIO(data))
            .build()
        )
        .build()
    )


def send(client: Any, msg_type: str, content: dict[str, str]) -> Any:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    response = client.im.v1.message.create(
        CreateMessageRequest.builder()
        .receive_id_type("chat_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(CHAT)
            .msg_type(msg_type)
            .content(json.dumps(content))
            .build()
        )
        .build()
    )
    assert response.success(), (response.code, response.msg)
    return response.data


def test_image_upload_send_and_download(im: Any) -> None:
    from lark_oapi.api.im.v1 import GetImageRequest, GetMessageResourceRequest

    created = upload_image(im)
    assert created.success(), (created.code, created.msg)
    key = created.data.image_key
    assert key.startswith("img_")

    got = im.im.v1.image.get(GetImageRequest.builder().image_key(key).build())
    assert got.success() and got.file.read() == PNG
    assert got.file_name  # from Content-Disposition

    message = send(im, "image", {"image_key": key})
    resource = im.im.v1.message_resource.get(
        GetMessageResourceRequest.builder()
        .message_id(message.message_id)
        .file_key(key)
        .type("image")
        .build()
    )
    assert resource.success() and resource.file.read() == PNG


def test_file_upload_send_and_download(im: Any) -> None:
    from lark_oapi.api.im.v1 import GetFileRequest, GetMessageResourceRequest

    created = upload_file(im)
    assert created.success(), (created.code, created.msg)
    key = created.data.file_key
    got = im.im.v1.file.get(GetFileRequest.builder().file_key(key).build())
    assert got.success() and got.file.read() == PDF
    assert got.file_name == "季度.pdf"

    message = send(im, "file", {"file_key": key})
    resource = im.im.v1.message_resource.get(
        GetMessageResourceRequest.builder()
        .message_id(message.message_id)
        .file_key(key)
        .type("file")
        .build()
    )
    assert resource.success() and resource.file.read() == PDF
    assert resource.file_name == "季度.pdf"


def test_upload_errors_parse(im: Any) -> None:
    empty = upload_image(im, b"")
    assert not empty.success() and empty.code == 234010
    not_image = upload_image(im, b"just text")
    assert not_image.code == 234001
    empty_file = upload_file(im, b"")
    assert empty_file.code == 234010


def test_download_errors_parse(im: Any, lark_emulator: Emulator) -> None:
    from lark_oapi.api.im.v1 import GetImageRequest, GetMessageResourceRequest

    missing = im.im.v1.image.get(GetImageRequest.builder().image_key("img_v3_nothing").build())
    assert not missing.success() and missing.code == 234001
    message = send(im, "text", {"text": "no resources"})
    wrong = im.im.v1.message_resource.get(
        GetMessageResourceRequest.builder()
        .message_id(message.message_id)
        .file_key("file_v3_x")
        .type("file")
        .build()
    )
    assert wrong.code == 234001


def test_sending_an_unknown_image_key_is_refused(im: Any) -> None:
    from lark_oapi.api.im.v1 import CreateMessageRequest, CreateMessageRequestBody

    response = im.im.v1.message.create(
        CreateMessageRequest.builder()
        .receive_id_type("chat_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(CHAT)
            .msg_type("image")
            .content(json.dumps({"image_key": "img_v3_never_uploaded"}))
            .build()
        )
        .build()
    )
    assert response.code == 230001
