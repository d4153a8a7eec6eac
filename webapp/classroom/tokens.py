"""Secrets and class codes: random, stored as hashes, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Letters and digits a class can read off a board without confusing them (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
# 25 ** 8 = 1.5e11 codes: guessing one costs ~10^11 requests, and a code alone opens no data.
CODE_LENGTH = 8
TOKEN_BYTES = 32  # 256 random bits per secret
PUBLIC_ID_BYTES = 12  # a drawing's id: 96 random bits, 16 characters
PUBLIC_ID_LENGTH = 16
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

# Compared against when there is nothing to compare with, so a miss takes as long as a hit.
_NO_HASH = hashlib.sha256(b"no such secret").hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a student typed -> a code: upper case, spaces and dashes dropped."""
    return "".join(character for character in text.upper() if character not in " -")


def is_code(code: str) -> bool:
    """Whether a normalised code could be a class's: any other text names none (and is never sent to the
    database: PostgreSQL refuses a NUL byte in text with an error, not a miss)."""
    return len(code) == CODE_LENGTH and all(character in CODE_ALPHABET for character in code)


def is_public_id(text: str) -> bool:
    """Whether ``text`` could be a drawing's id (``new_public_id``: 16 URL-safe base64 characters)."""
    return len(text) == PUBLIC_ID_LENGTH and all(character in _URL_SAFE for character in text)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_public_id() -> str:
    return secrets.token_urlsafe(PUBLIC_ID_BYTES)


def hashed(token: str) -> str:
    """The SHA-256 of a secret, as stored (the secret itself never is)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def matches(token: str | None, stored_hash: str | None) -> bool:
    """Whether ``token`` is the secret behind ``stored_hash``, in time independent of where they differ."""
    given = hashed(token or "")
    return hmac.compare_digest(given, stored_hash or _NO_HASH) and bool(token) and stored_hash is not None
