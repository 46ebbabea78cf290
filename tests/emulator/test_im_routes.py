"""The IM route module's layout: a route table of small handlers, Starlette's multipart parser."""

from __future__ import annotations

import ast
import inspect

import httpx

from lark_service.testing import Emulator
from lark_service.testing.emulator import routes_im

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # not UTF-8: must come back byte for byte


def test_no_function_in_the_im_routes_is_longer_than_80_lines() -> None:
    tree = ast.parse(inspect.getsource(routes_im))
    long = [
        (node.name, (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (node.end_lineno or node.lineno) - node.lineno + 1 > 80
    ]
    assert long == []


def test_every_route_of_the_table_is_served(emu: Emulator, http: httpx.Client) -> None:
    served = {
        (method, route.path)
        for route in routes_im.routes(emu.state)
        for method in getattr(route, "methods", ()) or ()
    }
    assert {(m, p) for m, p, _ in routes_im.ROUTE_TABLE} <= served
    assert http.get("/_emulator/im/rate_limits").json()["per_app"] is None
    assert http.get("/_emulator/im/uploads").json() == {"items": []}


def test_a_malformed_multipart_body_is_234001_not_a_500(http: httpx.Client, token: str) -> None:
    response = http.post(
        "/open-apis/im/v1/images",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "multipart/form-data; boundary=XX",
        },
        content=b"garbage\r\n\r\n--XX",
    )
    assert response.status_code == 400
    assert response.json()["code"] == 234001


def test_a_body_that_is_not_multipart_is_234001(http: httpx.Client, token: str) -> None:
    response = http.post(
        "/open-apis/im/v1/files",
        headers={"Authorization": f"Bearer {token}"},
        json={"file_type": "pdf"},
    )
    assert (response.status_code, response.json()["code"]) == (400, 234001)


def test_a_binary_part_without_a_filename_keeps_its_bytes(http: httpx.Client, token: str) -> None:
    """The official SDK sends files without a filename: such a part is not text."""
    boundary = "b0und"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image_type"\r\n\r\n'
            f"message\r\n--{boundary}\r\n"
            'Content-Disposition: form-data; name="image"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + PNG
        + f"\r\n--{boundary}--\r\n".encode()
    )
    auth = {"Authorization": f"Bearer {token}"}
    uploaded = http.post(
        "/open-apis/im/v1/images",
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body,
    )
    assert uploaded.status_code == 200, uploaded.text
    key = uploaded.json()["data"]["image_key"]
    downloaded = http.get(f"/open-apis/im/v1/images/{key}", headers=auth)
    assert downloaded.content == PNG
    assert downloaded.headers["content-type"] == "image/png"


def test_a_named_file_part_keeps_its_name_and_type(http: httpx.Client, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    uploaded = http.post(
        "/open-apis/im/v1/files",
        headers=auth,
        data={"file_type": "pdf", "file_name": "报告.pdf"},
        files={"file": ("ignored.pdf", b"%PDF-1.4 \xff\xfe", "application/pdf")},
    )
    assert uploaded.status_code == 200, uploaded.text
    key = uploaded.json()["data"]["file_key"]
    downloaded = http.get(f"/open-apis/im/v1/files/{key}", headers=auth)
    assert downloaded.content == b"%PDF-1.4 \xff\xfe"
    assert downloaded.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf" in downloaded.headers["content-disposition"]
