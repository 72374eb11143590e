"""Partner endpoints for the webhook benchmark: one asyncio process, many ports.

Each port responds to every POST with 204 (after ``--delay`` seconds on the ports
listed in ``--slow``) over keep-alive HTTP/1.1, and appends one line per request to
``--log``: receive time, port, webhook-id and the CloudEvent id.

    python bench/webhooks/endpoints.py --ports 50 --log /tmp/received.log
"""

import argparse
import asyncio
import json
import time


async def serve(reader, writer, port, log, delay):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", 0)))
            if delay:
                await asyncio.sleep(delay)
            event_id = json.loads(body).get("id", "-")
            log.write(f"{time.time():.6f} {port} {headers.get('webhook-id', '-')} "
                      f"{event_id}\n")
            writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(arguments):
    log = open(arguments.log, "a", buffering=1)
    servers = []
    ports = []
    for index in range(arguments.ports):
        delay = arguments.delay if index in arguments.slow else 0.0
        holder = {}

        def handler(reader, writer, holder=holder, delay=delay):
            return serve(reader, writer, holder["port"], log, delay)

        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        holder["port"] = server.sockets[0].getsockname()[1]
        ports.append(holder["port"])
        servers.append(server)
    print(json.dumps({"ports": ports}), flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=50, help="number of endpoints")
    parser.add_argument("--log", required=True, help="file that gets one line per request")
    parser.add_argument("--slow", type=int, nargs="*", default=[],
                        help="indexes of endpoints that respond after --delay")
    parser.add_argument("--delay", type=float, default=2.0,
                        help="seconds a slow endpoint waits before responding")
    asyncio.run(main(parser.parse_args()))
