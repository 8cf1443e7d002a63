"""The Python half that TypeScript calls: a Pyro5 server registered with the Name Server.

Run: python3 examples/pythoninterop/server.py   (Pyro5 installed or on PYTHONPATH), then
deno run -A examples/pythoninterop/client.ts
"""
import signal

import Pyro5.api


@Pyro5.api.expose
class Calculator:
    def add(self, a, b):
        return a + b

    def stats(self, numbers):
        return {"count": len(numbers), "total": sum(numbers), "sorted": tuple(sorted(numbers))}

    def greet(self, name, greeting="Hello"):
        return f"{greeting}, {name}! (from Python)"

    def fail(self):
        raise KeyError("no such key")

    @property
    def version(self):
        return "calculator 1.0"

    @Pyro5.api.oneway
    def log(self, line):
        print(f"python server: log: {line}", flush=True)


def stop(signum, frame):
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, stop)
with Pyro5.api.Daemon(host="127.0.0.1") as daemon:
    uri = daemon.register(Calculator, "example.interop.python")
    with Pyro5.api.locate_ns() as ns:
        ns.register("example.interop.python", uri)
    print("python server: ready", flush=True)
    try:
        daemon.requestLoop()
    except KeyboardInterrupt:
        pass
print("python server: stopped", flush=True)
