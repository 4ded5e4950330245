#!/usr/bin/env python3
"""mjpeg-watch.py: a recording MJPEG client for scripts/appliance-check.sh.

Usage: mjpeg-watch.py URL DIR MAX_SECONDS

Holds ONE connection to URL (an http:// multipart/x-mixed-replace stream whose parts carry
Content-Length, as streamserver's do) and, for every part received:
  - appends "part <index> <arrival time, unix s> <X-Frame-Seq or -> <bytes>" to DIR/parts.tsv
    (one line per part, flushed at once, so another process can follow it);
  - keeps the newest part as DIR/latest.jpg (replaced by rename, never half-written);
  - saves each part whose sequence number differs from the previous part's as
    DIR/part-<index>.jpg (idle re-sends of the same frame are not saved again).
It ends with exit status 0 when DIR/stop exists or after MAX_SECONDS. A connection that fails,
ends or stays silent for 20 s ends it with exit status 1 and a last line "end <time> <reason>":
the client did not stay connected.
"""

import http.client
import os
import sys
import time
import urllib.parse

SILENCE_S = 20
MAX_PART_BYTES = 32 << 20


class Stopped(Exception):
    """DIR/stop appeared or MAX_SECONDS passed: a normal end."""


def main():
    url, out, max_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.monotonic() + max_s
    log = open(os.path.join(out, "parts.tsv"), "a", buffering=1)
    try:
        watch(url, out, deadline, log)
    except Exception as err:  # noqa: BLE001 - any failure means the connection was lost
        log.write("end %.3f %s\n" % (time.time(), repr(err).replace("\n", " ")))
        return 1
    log.write("end %.3f stopped\n" % time.time())
    return 0


def watch(url, out, deadline, log):
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=SILENCE_S)
    conn.request("GET", u.path + ("?" + u.query if u.query else ""))
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError("HTTP %d" % resp.status)
    ctype = resp.getheader("Content-Type", "")
    boundary = None
    for param in ctype.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not ctype.lower().startswith("multipart/") or not boundary:
        raise RuntimeError("not a multipart stream: %r" % ctype)
    delim = b"--" + boundary.encode()
    buf = b""
    index = 0
    prev_seq = None

    def fill():
        nonlocal buf
        if os.path.exists(os.path.join(out, "stop")) or time.monotonic() > deadline:
            raise Stopped
        data = resp.read1(65536)
        if not data:
            raise RuntimeError("the server ended the stream")
        buf += data

    try:
        while True:
            start = buf.find(delim)
            head_end = buf.find(b"\r\n\r\n", start) if start >= 0 else -1
            if head_end < 0:
                fill()
                continue
            headers = {}
            for line in buf[start + len(delim):head_end].split(b"\r\n"):
                name, sep, value = line.partition(b":")
                if sep:
                    headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
            length = int(headers["content-length"])
            if length > MAX_PART_BYTES:
                raise RuntimeError("part of %d bytes" % length)
            body_start = head_end + 4
            while len(buf) < body_start + length:
                fill()
            body, buf = buf[body_start:body_start + length], buf[body_start + length:]
            seq = headers.get("x-frame-seq", "-")
            arrived = time.time()
            tmp = os.path.join(out, "latest.jpg.tmp")
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, os.path.join(out, "latest.jpg"))
            if seq != prev_seq:
                with open(os.path.join(out, "part-%06d.jpg" % index), "wb") as f:
                    f.write(body)
            log.write("part %d %.3f %s %d\n" % (index, arrived, seq, length))
            prev_seq = seq
            index += 1
    except Stopped:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
