#!/usr/bin/env python3
"""A hostile HTTP target for benches/endless_body.sh: answers 200 and then sends
"x" forever (chunked), as fast as loopback takes it. Stdlib only; 127.0.0.1 only.

Usage: endless_body.py PORTFILE   (writes the port it listens on to PORTFILE)
"""
import socket
import sys
import threading

CHUNK = b"x" * 65536
FRAME = b"%x\r\n" % len(CHUNK) + CHUNK + b"\r\n"


def serve(conn: socket.socket) -> None:
    try:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
        while True:
            conn.sendall(FRAME)
    except OSError:
        pass
    finally:
        conn.close()


def main() -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    with open(sys.argv[1], "w", encoding="ascii") as f:
        f.write(str(listener.getsockname()[1]))
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
