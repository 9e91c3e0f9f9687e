#!/usr/bin/env python3
"""tcpbench.py - tiny TCP throughput and reachability tool for the virtual cluster.

Used by tests/scripts/test_vcluster.sh where iperf3 is absent; standard library only.

  tcpbench.py recv  --port P [--bind ADDR] [--timeout S] [--ready-file F]
        accept one connection, read until EOF, print the receive rate as
        "<mbit_per_s> <bytes> <seconds>" (measured at the receiver, from the first
        byte to EOF, so sender-side socket buffering does not inflate it)
  tcpbench.py send  --host H --port P [--seconds S] [--connect-timeout S]
        send zeros for S seconds, then close
  tcpbench.py probe --host H --port P [--timeout S]
        exit 0 when H answers on the network (connected or refused), 1 otherwise

Exit codes: 0 ok, 1 failure/unreachable, 2 usage.
"""
import argparse
import errno
import os
import socket
import sys
import time


def cmd_recv(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((a.bind, a.port))
    srv.listen(1)
    srv.settimeout(a.timeout)
    if a.ready_file:
        with open(a.ready_file, "w", encoding="ascii") as f:
            f.write("ready\n")
    try:
        conn, _ = srv.accept()
    except socket.timeout:
        print("tcpbench: no connection within %.1f s" % a.timeout, file=sys.stderr)
        return 1
    conn.settimeout(a.timeout)
    total = 0
    first = None
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        while True:
            n = conn.recv_into(view)
            if n == 0:
                break
            if first is None:
                first = time.monotonic()
            total += n
    except socket.timeout:
        print("tcpbench: receive stalled for %.1f s" % a.timeout, file=sys.stderr)
        return 1
    end = time.monotonic()
    conn.close()
    srv.close()
    if first is None or end <= first:
        print("tcpbench: no data received", file=sys.stderr)
        return 1
    secs = end - first
    print("%.1f %d %.3f" % (total * 8 / secs / 1e6, total, secs))
    return 0


def connect(host, port, timeout, retry_for):
    deadline = time.monotonic() + retry_for
    while True:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect((host, port))
            return s
        except ConnectionRefusedError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def cmd_send(a):
    try:
        s = connect(a.host, a.port, a.connect_timeout, a.connect_timeout)
    except OSError as e:
        print("tcpbench: connect %s:%d: %s" % (a.host, a.port, e), file=sys.stderr)
        return 1
    chunk = bytes(1 << 18)
    end = time.monotonic() + a.seconds
    sent = 0
    s.settimeout(a.seconds + 10)
    try:
        while time.monotonic() < end:
            sent += s.send(chunk)
        s.shutdown(socket.SHUT_WR)
        # wait for the receiver to close: every byte has then arrived
        s.recv(1)
    except OSError as e:
        print("tcpbench: send: %s" % e, file=sys.stderr)
        return 1
    s.close()
    return 0


def cmd_probe(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(a.timeout)
    try:
        s.connect((a.host, a.port))
        return 0
    except ConnectionRefusedError:
        return 0  # a RST came back: the host is reachable
    except (socket.timeout, OSError) as e:
        code = getattr(e, "errno", None)
        why = os.strerror(code) if code else "timed out"
        if code in (errno.EHOSTUNREACH, errno.ENETUNREACH) or code is None:
            print("tcpbench: %s unreachable (%s)" % (a.host, why), file=sys.stderr)
        else:
            print("tcpbench: %s: %s" % (a.host, why), file=sys.stderr)
        return 1
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("recv")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--bind", default="0.0.0.0")
    r.add_argument("--timeout", type=float, default=20.0)
    r.add_argument("--ready-file")
    s = sub.add_parser("send")
    s.add_argument("--host", required=True)
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--seconds", type=float, default=1.0)
    s.add_argument("--connect-timeout", type=float, default=5.0)
    q = sub.add_parser("probe")
    q.add_argument("--host", required=True)
    q.add_argument("--port", type=int, default=9)
    q.add_argument("--timeout", type=float, default=2.0)
    a = p.parse_args()
    return {"recv": cmd_recv, "send": cmd_send, "probe": cmd_probe}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
