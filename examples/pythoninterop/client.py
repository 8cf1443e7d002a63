"""The Python half that calls TypeScript: a Pyro5 client of server.ts.

Run: python3 examples/pythoninterop/client.py   (Pyro5 installed or on PYTHONPATH;
PYRO_NS_HOST/PYRO_NS_PORT tell where the Name Server is)
"""
import Pyro5.api
import serpent

with Pyro5.api.Proxy("PYRONAME:example.interop.typescript") as ts:
    for value in [7, 2**70, 2.5, "text", b"\x00\x01", [1, 2], (1, 2), {"a"}, {"k": 1}, 1+2j, None]:
        print(f"python: {value!r} arrived as {ts.describe(value)}")
    samples = ts.samples()
    # Python's serpent serializer (Pyro5's default) delivers bytes as a base64 dict:
    samples["bytes"] = serpent.tobytes(samples["bytes"])
    for key in sorted(samples):
        print(f"python: samples()[{key!r}] = {samples[key]!r}")
    print(f"python: pair(3, 4) = {ts.pair(3, 4)!r}")
    try:
        ts.fail()
    except ValueError as e:
        print(f"python: fail() raised {type(e).__name__}: {e}")
print("python: done")
