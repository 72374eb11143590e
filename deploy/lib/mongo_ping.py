"""Send {ping: 1} to a MongoDB wire protocol server and exit 0 if it replies ok.

Usage: python3 mongo_ping.py HOST PORT

Uses only the standard library, so deploy/stack can check FerretDB before any
project dependency such as pymongo is installed. It speaks OP_MSG (opcode 2013),
which MongoDB 3.6+ and FerretDB 1.x accept.
"""

import socket
import struct
import sys

OP_MSG = 2013
TIMEOUT_SECONDS = 5


def encode_ping_document() -> bytes:
    """Encode the BSON document {ping: int32 1, $db: "admin"}."""
    ping = b"\x10ping\x00" + struct.pack("<i", 1)
    database = b"admin\x00"
    db_field = b"\x02$db\x00" + struct.pack("<i", len(database)) + database
    body = ping + db_field + b"\x00"
    return struct.pack("<i", 4 + len(body)) + body


def encode_op_msg(request_id: int, document: bytes) -> bytes:
    """Wrap a document as an OP_MSG with no flags and one body section (kind 0)."""
    payload = struct.pack("<I", 0) + b"\x00" + document
    header = struct.pack("<iiii", 16 + len(payload), request_id, 0, OP_MSG)
    return header + payload


def receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = connection.recv(size)
        if not chunk:
            raise ConnectionError("server closed the connection before replying")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def reply_is_ok(body: bytes) -> bool:
    """Return whether a reply body contains an ok field equal to 1.

    The server encodes ok as double 1.0 (FerretDB, MongoDB) or int32 1. A byte
    search cannot tell a top-level field from a nested one, which does not
    matter for a ping reply.
    """
    return (b"\x01ok\x00" + struct.pack("<d", 1.0)) in body or (
        b"\x10ok\x00" + struct.pack("<i", 1)
    ) in body


def ping(host: str, port: int) -> None:
    """Send a ping to HOST:PORT and raise OSError or ValueError unless the reply is ok."""
    request = encode_op_msg(1, encode_ping_document())
    with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as connection:
        connection.sendall(request)
        length, _, _, opcode = struct.unpack("<iiii", receive_exactly(connection, 16))
        body = receive_exactly(connection, length - 16)
    if opcode != OP_MSG:
        raise ValueError(f"expected an OP_MSG reply (opcode {OP_MSG}), got opcode {opcode}")
    if not reply_is_ok(body):
        raise ValueError(f"ping reply has no ok: 1 field: {body!r}")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    try:
        ping(host, port)
    except (OSError, ValueError, struct.error) as error:
        print(f"ping of {host}:{port} failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
