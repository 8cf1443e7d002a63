"""Python Pyro5 roles of the benchmark suite (only used when PYRO5_PYTHONPATH is set).

server: a Pyro5 daemon on 127.0.0.1 serving `bench` with echo(x) and a oneway tick()
        (--servertype=thread|multiplex, Pyro5's default thread pool unless given);
        writes '@@bench {"type":"ready","uri":...}' and serves until stdin ends.
ns:     a Pyro5 Name Server on 127.0.0.1 (no broadcast) filled in-process with --names
        registrations laid out as bench/_pyro_naming.ts does; writes ready with its uri.
client: a Pyro5 proxy making sequential echo calls with the plan given as --plan=<json>;
        writes one '@@bench {"type":"result",...}' line with the calls/s of each run.
vs:     the Python side of bench/_pyro5_compare.ts: for every stdin line
        {"test", "serializer", "runMs", "minSteps", "warmupSteps"} makes one warm-up and one
        timed run of the test and writes '@@bench {"type":"run","rate":...}'.
many:   one of several client processes (as `many` of bench/_pyro_client.ts): ready, then a
        timed run of sequential echo calls for every 'go' line.
raw:    a raw TCP server without Pyro, speaking bench/_raw.ts's frames (u32 length, u32 wanted
        reply length, big-endian): the `raw` test of `vs` (--raw-port) ping-pongs with it, as
        the Deno side does with bench/_raw.ts, so that both runtimes' socket cost is measured.

Run by bench/main.ts with /usr/bin/python3 and PYTHONPATH set to the Pyro5 tree.
"""

import json
import os
import socket
import struct
import sys
import threading
import time

os.environ.setdefault("PYRO_BROADCAST_ADDRS", "127.255.255.255")

import Pyro5.api  # noqa: E402


def emit(msg):
    print("@@bench " + json.dumps(msg), flush=True)


def args_of(argv):
    out = {"_": []}
    for a in argv:
        if a.startswith("--"):
            k, _, v = a[2:].partition("=")
            out[k] = v or "true"
        else:
            out["_"].append(a)
    return out


@Pyro5.api.expose
class Bench:
    def __init__(self):
        self.count = 0

    def echo(self, x):
        return x

    @Pyro5.api.oneway
    def tick(self):
        self.count += 1

    def ticks(self):
        return self.count


def server(args):
    if "servertype" in args:
        Pyro5.config.SERVERTYPE = args["servertype"]
    daemon = Pyro5.api.Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Bench(), "bench")
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    emit({"type": "ready", "uri": str(uri)})
    sys.stdin.read()
    daemon.shutdown()


def client(args):
    plan = {"runs": 5, "runMs": 400, "minSteps": 20, "warmupMs": 300, "warmupSteps": 50}
    if "plan" in args:
        plan.update(json.loads(args["plan"]))
    proxy = Pyro5.api.Proxy(args["uri"])
    proxy._pyroSerializer = args.get("serializer", "msgpack")
    warm_end = time.perf_counter() + plan["warmupMs"] / 1000
    i = 0
    while i < plan["warmupSteps"] or time.perf_counter() < warm_end:
        proxy.echo("hello")
        i += 1
    rates = []
    for _ in range(plan["runs"]):
        start = time.perf_counter()
        end = start + plan["runMs"] / 1000
        n = 0
        now = start
        while n < plan["minSteps"] or now < end:
            proxy.echo("hello")
            n += 1
            now = time.perf_counter()
        rates.append(n / (now - start))
    proxy._pyroRelease()
    emit({"type": "result", "name": "echo", "samples": rates})


def raw_serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray(64 * 1024)
    view = memoryview(buf)
    replies = {}
    have = 0
    try:
        while True:
            while have < 8 or have < struct.unpack_from(">I", buf, 0)[0]:
                n = conn.recv_into(view[have:])
                if n == 0:
                    return
                have += n
            size, reply = struct.unpack_from(">II", buf, 0)
            out = replies.get(reply)
            if out is None:
                out = replies[reply] = raw_frame(reply, 0)
            conn.sendall(bytes(view[:size]) if reply == size else out)
            buf[: have - size] = buf[size:have]
            have -= size
    except OSError:
        pass
    finally:
        conn.close()


def raw_frame(size, reply):
    return struct.pack(">II", size, reply) + bytes(i & 0xFF for i in range(8, size))


def raw_server(args):
    listener = socket.create_server(("127.0.0.1", 0))
    emit({"type": "ready", "port": listener.getsockname()[1]})

    def accept():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=raw_serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()
    listener.close()


class RawPingPong:
    """Ping-pong with a raw server: one frame of `req` bytes, one reply of `resp` bytes."""

    def __init__(self, port, req, resp):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.frame = raw_frame(req, resp)
        self.resp = resp
        self.buf = bytearray(resp)
        self.view = memoryview(self.buf)

    def step(self):
        self.sock.sendall(self.frame)
        got = 0
        while got < self.resp:
            n = self.sock.recv_into(self.view[got:])
            if n == 0:
                raise ConnectionError("raw server closed the connection")
            got += n

    def close(self):
        self.sock.close()


GROUPS = 1000


def ns(args):
    import Pyro5.nameserver

    names = int(args.get("names", "100000"))
    uri, daemon, _ = Pyro5.nameserver.start_ns(host="127.0.0.1", port=0, enableBroadcast=False)
    store = daemon.nameserver
    for i in range(names):
        store.register("bench.g%d.n%d" % (i % GROUPS, i), "PYRO:obj%d@127.0.0.1:%d" % (i, 4000 + i % 1000),
                       False, {"g%d" % (i % GROUPS), "parity%d" % (i % 2)})
    threading.Thread(target=daemon.requestLoop, daemon=True).start()
    emit({"type": "ready", "uri": str(uri), "names": names})
    sys.stdin.read()
    daemon.shutdown()


SMALL = "hello"
MIB = bytes(range(256)) * 4096


class Steps:
    """One step of each test of the vs role; returns the units it did (calls, bytes, pairs)."""

    def __init__(self, args):
        self.uri = args["uri"]
        self.ns_uri = args.get("ns-uri")
        self.proxies = {}
        self.registered = 0
        self.raw_args = (int(args.get("raw-port", "0")), int(args.get("raw-req", "60")),
                         int(args.get("raw-resp", "46")))
        self.raw = None

    def proxy(self, serializer):
        p = self.proxies.get(serializer)
        if p is None:
            p = Pyro5.api.Proxy(self.uri)
            p._pyroSerializer = serializer
            self.proxies[serializer] = p
        return p

    def ns(self):
        p = self.proxies.get("ns")
        if p is None:
            p = Pyro5.api.Proxy(self.ns_uri)
            p._pyroSerializer = "msgpack"
            self.proxies["ns"] = p
        return p

    def step(self, test, serializer):
        if test == "raw":
            if self.raw is None:
                self.raw = RawPingPong(*self.raw_args)
            self.raw.step()
            return 1
        if test == "rawconnect":
            port, req, resp = self.raw_args
            conn = RawPingPong(port, req, resp)
            conn.step()
            conn.close()
            return 1
        if test == "echo":
            self.proxy(serializer).echo(SMALL)
            return 1
        if test == "p1m":
            back = self.proxy("msgpack").echo(MIB)
            if len(back) != len(MIB):
                raise ValueError("echo of 1 MiB returned %d bytes" % len(back))
            return len(MIB)
        if test == "batch":
            batch = Pyro5.api.BatchProxy(self.proxy("msgpack"))
            for _ in range(1000):
                batch.echo(SMALL)
            n = sum(1 for _ in batch())
            if n != 1000:
                raise ValueError("batch returned %d results" % n)
            return 1000
        if test == "oneway":
            p = self.proxy("msgpack")
            for _ in range(100):
                p.tick()
            p.ticks()  # served after the ticks on this connection
            return 100
        if test == "connect":
            with Pyro5.api.Proxy(self.uri) as p:
                p._pyroSerializer = "msgpack"
                p.echo(SMALL)
            return 1
        if test == "lookup":
            self.ns().lookup("bench.g7.n7")
            return 1
        if test == "register":
            ns = self.ns()
            self.registered += 1
            name = "tmp.n%d" % self.registered
            ns.register(name, "PYRO:tmp@127.0.0.1:4000", False, {"tmp"})
            if ns.remove(name) != 1:
                raise ValueError("remove did not remove " + name)
            return 1
        raise ValueError("unknown test " + test)


def timed(step, run_ms, min_steps):
    start = time.perf_counter()
    end = start + run_ms / 1000
    units = 0
    steps = 0
    now = start
    while steps < min_steps or now < end:
        units += step()
        steps += 1
        now = time.perf_counter()
    return units / (now - start)


def vs(args):
    steps = Steps(args)
    for line in iter(sys.stdin.readline, ""):
        if not line.strip():
            continue
        req = json.loads(line)
        test = req["test"]
        ser = req.get("serializer", "msgpack")
        step = lambda: steps.step(test, ser)  # noqa: E731
        for _ in range(req.get("warmupSteps", 0)):
            step()
        rate = timed(step, req["runMs"], req["minSteps"])
        emit({"type": "run", "rate": rate})
    for p in steps.proxies.values():
        p._pyroRelease()
    if steps.raw is not None:
        steps.raw.close()


def many(args):
    plan = {"runMs": 400, "minSteps": 20, "warmupSteps": 50}
    if "plan" in args:
        plan.update(json.loads(args["plan"]))
    proxy = Pyro5.api.Proxy(args["uri"])
    proxy._pyroSerializer = args.get("serializer", "msgpack")
    for _ in range(plan["warmupSteps"]):
        proxy.echo(SMALL)
    emit({"type": "ready"})
    for _ in iter(sys.stdin.readline, ""):
        start = time.time()
        end = time.perf_counter() + plan["runMs"] / 1000
        count = 0
        while count < plan["minSteps"] or time.perf_counter() < end:
            proxy.echo(SMALL)
            count += 1
        emit({"type": "run", "count": count, "start": start * 1000, "end": time.time() * 1000})
    proxy._pyroRelease()


def main():
    args = args_of(sys.argv[1:])
    try:
        role = args["_"][0] if args["_"] else "client"
        {"server": server, "ns": ns, "vs": vs, "many": many, "client": client,
         "raw": raw_server}[role](args)
    except Exception as e:  # report, never hang the orchestrator
        emit({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)


if __name__ == "__main__":
    main()
