"""Feishu's callback cryptography: AES-256-CBC bodies and the two signature schemes.

Pure functions, shared by the verifier (which checks) and the emulator and ``callbacks
simulate`` (which produce):

- an encrypted body is ``{"encrypt": base64(iv + AES-256-CBC(sha256(encrypt_key), iv,
  pkcs7(plaintext)))}``;
- events and ``card.action.trigger`` are signed ``X-Lark-Signature = sha256_hex(timestamp +
  nonce + encrypt_key + raw_body)``;
- the legacy message-card callback is signed ``sha1_hex(timestamp + nonce +
  verification_token + raw_body)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from typing import Any

from ..errors import DecryptError

__all__ = [
    "card_signature",
    "decrypt",
    "encrypt",
    "encrypt_json",
    "event_signature",
    "signatures_equal",
]

_BLOCK = 16


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode("utf-8")).digest()


def decrypt(encrypt_key: str, ciphertext_b64: str) -> bytes:
    """Decrypt an ``encrypt`` field; raises :class:`~lark_service.errors.DecryptError`.

    The message never includes the key or the ciphertext.
    """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    try:
        blob = base64.b64decode(ciphertext_b64, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError("the encrypt field is not valid base64", http_status=400) from None
    if len(blob) < 2 * _BLOCK or len(blob) % _BLOCK:
        raise DecryptError("the encrypted body has an invalid length", http_status=400)
    iv, body = blob[:_BLOCK], blob[_BLOCK:]
    decryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    pad = padded[-1]
    if not 1 <= pad <= _BLOCK or not hmac.compare_digest(padded[-pad:], bytes([pad]) * pad):
        raise DecryptError(
            "the encrypted body does not decrypt (wrong encrypt key?)",
            http_status=400,
            hint="Check that the app's encrypt key matches the Feishu console.",
        )
    return padded[:-pad]


def encrypt(encrypt_key: str, plaintext: bytes, *, iv: bytes | None = None) -> str:
    """Encrypt ``plaintext`` the way Feishu does; returns the base64 ``encrypt`` value."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(_BLOCK) if iv is None else iv
    if len(iv) != _BLOCK:
        raise ValueError("the IV must be 16 bytes")
    pad = _BLOCK - len(plaintext) % _BLOCK
    padded = plaintext + bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(_key(encrypt_key)), modes.CBC(iv)).encryptor()
    blob = iv + encryptor.update(padded) + encryptor.finalize()
    return base64.b64encode(blob).decode("ascii")


def encrypt_json(encrypt_key: str, payload: Any) -> bytes:
    """The raw HTTP body ``{"encrypt": ...}`` carrying ``payload`` encrypted."""
    plain = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return json.dumps({"encrypt": encrypt(encrypt_key, plain)}).encode("utf-8")


def event_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature`` of an event or ``card.action.trigger`` (SHA-256, hex)."""
    data = (timestamp + nonce + encrypt_key).encode("utf-8") + body
    return hashlib.sha256(data).hexdigest()


def card_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    """``X-Lark-Signature`` of a legacy message-card callback (SHA-1, hex)."""
    data = (timestamp + nonce + verification_token).encode("utf-8") + body
    return hashlib.sha1(data).hexdigest()


def signatures_equal(expected: str, given: str) -> bool:
    """Constant-time comparison of two signatures (case-insensitive hex)."""
    return hmac.compare_digest(
        expected.lower().encode("ascii"), given.lower().encode("ascii", "replace")
    )
