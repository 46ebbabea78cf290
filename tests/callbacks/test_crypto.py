from __future__ import annotations

import base64
import hashlib
import json

import pytest

from lark_service.callbacks import crypto
from lark_service.errors import DecryptError


def test_encrypt_then_decrypt_round_trips() -> None:
    blob = crypto.encrypt("k", "你好 callback".encode())
    assert crypto.decrypt("k", blob) == "你好 callback".encode()


def test_the_iv_is_the_first_block_and_the_key_is_sha256_of_the_encrypt_key() -> None:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = bytes(range(16))
    blob = base64.b64decode(crypto.encrypt("secret", b"{}", iv=iv))
    assert blob[:16] == iv
    key = hashlib.sha256(b"secret").digest()
    plain = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(blob[16:])
    assert plain == b"{}" + bytes([14]) * 14


@pytest.mark.parametrize(
    "blob",
    ["not base64!!", base64.b64encode(b"short").decode(), base64.b64encode(b"x" * 33).decode()],
)
def test_garbage_is_a_decrypt_error(blob: str) -> None:
    with pytest.raises(DecryptError) as info:
        crypto.decrypt("k", blob)
    assert info.value.http_status == 400


def test_wrong_key_is_a_decrypt_error_without_secrets_in_the_message() -> None:
    blob = crypto.encrypt("right-key", json.dumps({"a": 1}).encode())
    with pytest.raises(DecryptError) as info:
        crypto.decrypt("wrong-key", blob)
    assert "right-key" not in str(info.value) and "wrong-key" not in str(info.value)
    assert blob not in str(info.value)


def test_signatures() -> None:
    body = b'{"encrypt":"x"}'
    assert (
        crypto.event_signature("1", "n", "ek", body) == hashlib.sha256(b"1nek" + body).hexdigest()
    )
    assert crypto.card_signature("1", "n", "vt", body) == hashlib.sha1(b"1nvt" + body).hexdigest()
    assert crypto.signatures_equal("ABCDEF", "abcdef")
    assert not crypto.signatures_equal("abcdef", "abcdee")
    assert not crypto.signatures_equal("abcdef", "ünïcode")
