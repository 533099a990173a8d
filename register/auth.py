"""API tokens: `hk_<key_id>_<secret>`. The key id finds the row; the secret is checked against a salted scrypt
digest (hashlib, standard library). Only the digest is stored; the token is shown once, when issued.

The secret is 256 random bits, so the work factor is not what protects it (nobody can search that space);
scrypt with a salt makes the stored digest useless to whoever reads the table. The cost is modest (n=2^12,
a few ms) and is stored with each token, so it can be raised later without invalidating issued tokens. A
verified token is remembered in memory for a while under an HMAC of the token with a per-process key
(nothing reusable is kept); revocation is still read from the database on every request."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

SCHEME = "scrypt:n=4096,r=8,p=1"
_DKLEN = 32
PREFIX = "hk"
_CACHE_TTL = 300.0
_CACHE_MAX = 10_000
_process_key = secrets.token_bytes(32)
_cache: dict[bytes, float] = {}
_cache_lock = threading.Lock()


def new_token() -> tuple[str, str, str]:
    """(token, key_id, secret)"""
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}_{key_id}_{secret}", key_id, secret


def _params(scheme: str) -> dict[str, int]:
    name, _, rest = scheme.partition(":")
    params = {k: int(v) for k, v in (kv.split("=") for kv in rest.split(","))} if rest else {}
    if name != "scrypt" or set(params) != {"n", "r", "p"} or params["n"] > 2**20:
        raise ValueError(f"unknown token hashing scheme {scheme!r}")
    return params


def digest(secret: str, salt: bytes, scheme: str = SCHEME) -> str:
    p = _params(scheme)
    return hashlib.scrypt(secret.encode(), salt=salt, n=p["n"], r=p["r"], p=p["p"], dklen=_DKLEN, maxmem=256 * 1024 * 1024).hex()


def hash_secret(secret: str) -> tuple[str, str, str]:
    """(scheme, salt hex, digest hex)"""
    salt = secrets.token_bytes(16)
    return SCHEME, salt.hex(), digest(secret, salt)


def parse(token: str) -> tuple[str, str] | None:
    """(key_id, secret) of a well-formed token, else None."""
    parts = token.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def verify(token: str, secret: str, scheme: str, salt_hex: str, digest_hex: str) -> bool:
    mark = hmac.new(_process_key, f"{token}\0{digest_hex}".encode(), hashlib.sha256).digest()
    now = time.monotonic()
    with _cache_lock:
        seen = _cache.get(mark)
    if seen is not None and now - seen < _CACHE_TTL:
        return True
    try:
        ok = hmac.compare_digest(digest(secret, bytes.fromhex(salt_hex), scheme), digest_hex)
    except ValueError:
        return False
    if ok:
        with _cache_lock:
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
            _cache[mark] = now
    return ok
