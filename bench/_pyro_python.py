"""Python Pyro5 roles of the benchmark suite (only used when PYRO5_PYTHONPATH is set).

server: a Pyro5 daemon on 127.0.0.1 serving `bench` with echo(x) and a oneway tick();
        writes '@@bench {"type":"ready","uri":...}' and serves until stdin ends.
client: a Pyro5 proxy making sequential echo calls with the plan given as --plan=<json>;
        writes one '@@bench {"type":"result",...}' line with the calls/s of each run.

Run by bench/main.ts with /usr/bin/python3 and PYTHONPATH set to the Pyro5 tree.
"""

import json
import os
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


def server():
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


def main():
    args = args_of(sys.argv[1:])
    try:
        if args["_"] and args["_"][0] == "server":
            server()
        else:
            client(args)
    except Exception as e:  # report, never hang the orchestrator
        emit({"type": "error", "message": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)


if __name__ == "__main__":
    main()
