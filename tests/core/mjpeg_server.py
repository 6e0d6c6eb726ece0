"""A tiny MJPEG-over-HTTP server for the stream tests, run as its own process so a test can kill
it mid-stream: ``python mjpeg_server.py VIDEO PORT FPS [--silent]``.

It serves ``multipart/x-mixed-replace`` JPEG frames of VIDEO (looped) at FPS to every client.
``--silent`` accepts connections and never answers (a server that hangs). It prints ``ready``
once it listens.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import cv2

BOUNDARY = b"visionappframe"


def _frames(video: str) -> list[bytes]:
    cap = cv2.VideoCapture(video)
    jpegs = []
    while len(jpegs) < 60:
        ok, image = cap.read()
        if not ok:
            break
        image = cv2.resize(image, (320, 180))
        jpegs.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    cap.release()
    if not jpegs:
        raise SystemExit(f"no frames in {video}")
    return jpegs


def _serve(conn: socket.socket, jpegs: list[bytes], fps: float) -> None:
    try:
        conn.recv(65536)  # the request; its content does not matter
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary="
                     + BOUNDARY + b"\r\nCache-Control: no-cache\r\n\r\n")
        i = 0
        while True:
            jpeg = jpegs[i % len(jpegs)]
            conn.sendall(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                         + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
            i += 1
            time.sleep(1.0 / fps)
    except OSError:
        pass
    finally:
        conn.close()


def main(argv: list[str]) -> None:
    video, port, fps = argv[0], int(argv[1]), float(argv[2])
    silent = "--silent" in argv
    jpegs = [] if silent else _frames(video)
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(8)
    print("ready", flush=True)
    held = []
    while True:
        conn, _ = server.accept()
        if silent:
            held.append(conn)  # never answered, never closed
            continue
        threading.Thread(target=_serve, args=(conn, jpegs, fps), daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
