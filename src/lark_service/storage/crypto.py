"""Fernet encryption of secrets and tokens at rest, with key rotation.

``LARK_CONFIG_ENCRYPTION_KEY`` holds one Fernet key, or several separated by commas: the
first encrypts, every one of them decrypts. To rotate, put a new key first and keep the old
ones after it; :meth:`SecretBox.rotate` re-encrypts a stored value under the new key, after
which the old key can be dropped.

This module does not import SQLAlchemy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ..errors import EncryptionKeyError

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["SecretBox", "fingerprint", "generate_key", "looks_like_fernet"]

_ENV = "LARK_CONFIG_ENCRYPTION_KEY"
_HINT_MISSING = (
    f"Run `lark-service init` to create a key, or set {_ENV} to the output of "
    '`python -c "from lark_service.storage.crypto import generate_key; print(generate_key())"`.'
)
_HINT_MALFORMED = (
    f"{_ENV} takes Fernet keys (44 url-safe base64 characters) separated by commas, "
    "the newest first. Run `lark-service init` to create one."
)
_HINT_WRONG = (
    f"Set {_ENV} to the key this data was encrypted with. When rotating, list the new key "
    "first and keep the old ones after it, comma-separated."
)


def generate_key() -> str:
    """A new random Fernet key (url-safe base64 text)."""
    return Fernet.generate_key().decode("ascii")


def fingerprint(secret: str) -> str:
    """The first 16 hex digits of SHA-256 of ``secret``; tokens are keyed by it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def looks_like_fernet(token: str) -> bool:
    """Whether ``token`` is shaped like a Fernet token (version byte, length), whatever key
    made it: a well-formed token that no configured key opens was written with another key,
    while a malformed one is corrupt."""
    import base64
    import binascii

    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeError):
        return False
    # version (1) + timestamp (8) + IV (16) + ciphertext (16 * n, n >= 1) + HMAC (32)
    return len(raw) >= 73 and raw[0] == 0x80 and (len(raw) - 57) % 16 == 0


class SecretBox:
    """Encrypts and decrypts text with the first of several Fernet keys (all of them decrypt)."""

    __slots__ = ("_count", "_fernet")

    def __init__(self, keys: str | Sequence[str]) -> None:
        """Build from a comma-separated key string or a sequence of keys, newest first.

        Raises :class:`~lark_service.errors.EncryptionKeyError` when there is no key or one
        is not a Fernet key (the message never shows a key).
        """
        parts = keys.split(",") if isinstance(keys, str) else list(keys)
        cleaned = [part.strip() for part in parts if part.strip()]
        if not cleaned:
            raise EncryptionKeyError(f"{_ENV} holds no key", hint=_HINT_MISSING)
        fernets = []
        for position, key in enumerate(cleaned, start=1):
            try:
                fernets.append(Fernet(key))
            except Exception:
                raise EncryptionKeyError(
                    f"key #{position} of {len(cleaned)} in {_ENV} is not a valid Fernet key",
                    hint=_HINT_MALFORMED,
                ) from None
        self._fernet = MultiFernet(fernets)
        self._count = len(fernets)

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box for ``settings.config_encryption_key`` (``LARK_CONFIG_ENCRYPTION_KEY``)."""
        secret = settings.config_encryption_key
        if secret is None or not secret.get_secret_value().strip():
            raise EncryptionKeyError(f"{_ENV} is not set", hint=_HINT_MISSING)
        return cls(secret.get_secret_value())

    def encrypt(self, plaintext: str) -> str:
        """``plaintext`` encrypted under the first key, as url-safe text."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text inside ``token``.

        Raises :class:`~lark_service.errors.EncryptionKeyError` when no key opens it or it is
        corrupt.
        """
        try:
            return self._fernet.decrypt(token.encode("utf-8")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError, TypeError):
            raise self._wrong_key() from None

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the first key (raises like :meth:`decrypt`)."""
        try:
            return self._fernet.rotate(token.encode("utf-8")).decode("ascii")
        except (InvalidToken, UnicodeError, ValueError, TypeError):
            raise self._wrong_key() from None

    def __repr__(self) -> str:
        return f"SecretBox(keys={self._count})"

    def _wrong_key(self) -> EncryptionKeyError:
        return EncryptionKeyError(
            f"a stored secret could not be decrypted with the {self._count} key(s) in {_ENV}: "
            "the key is wrong or the value is corrupt",
            hint=_HINT_WRONG,
        )
