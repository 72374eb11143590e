"""W3C Bitstring Status List encoding (VC Bitstring Status List v1.0).

A list is a bitstring of ``LIST_SIZE`` bits, GZIP-compressed and base64url
encoded with the multibase prefix ``u``. Bit 0 is the most significant bit of
the first byte; a set bit means the credential at that index is revoked.
"""

import base64
import gzip
import io

# 131,072 bits (16 KiB), the minimum the specification sets so that one list
# hides which of many credentials a verifier is checking.
LIST_SIZE = 131072

# A decoded list larger than this is rejected before decompression finishes.
MAX_DECODED_BYTES = 4 * LIST_SIZE // 8


def encode_list(revoked_indexes: list[int], size: int = LIST_SIZE) -> str:
    """Encode the set bits at ``revoked_indexes`` as a multibase ``encodedList``."""
    bits = bytearray(size // 8)
    for index in revoked_indexes:
        if not 0 <= index < size:
            raise ValueError(f"status list index {index} is outside 0..{size - 1}")
        bits[index // 8] |= 0x80 >> (index % 8)
    compressed = gzip.compress(bytes(bits), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def decode_list(encoded: str) -> bytes:
    """Decode an ``encodedList``; raise ``ValueError`` when it is malformed."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError(
            "encodedList must be a multibase base64url string starting with 'u'"
        )
    body = encoded[1:]
    try:
        compressed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        decompressor = gzip.GzipFile(fileobj=io.BytesIO(compressed))
        bits = decompressor.read(MAX_DECODED_BYTES + 1)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"encodedList is not base64url GZIP data ({exc})") from exc
    if len(bits) > MAX_DECODED_BYTES:
        raise ValueError(f"encodedList decodes to more than {MAX_DECODED_BYTES} bytes")
    return bits


def is_set(bits: bytes, index: int) -> bool:
    """Return whether bit ``index`` is set; raise ``ValueError`` past the end."""
    if not 0 <= index < len(bits) * 8:
        raise ValueError(
            f"status list index {index} is outside the list of {len(bits) * 8} bits"
        )
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
