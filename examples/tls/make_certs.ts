/**
 * Makes the certificates of the TLS example with `openssl`: a certificate authority, a server
 * certificate for 127.0.0.1 and localhost, and a client certificate, all signed by that CA and
 * valid for 30 days. Keys are unencrypted PEM (Deno's TLS takes no key passwords).
 *
 * Run: `deno run -A examples/tls/make_certs.ts [DIR]` (default DIR: `examples/tls/certs`).
 *
 * @module
 */

const dir = Deno.args[0] ?? new URL("./certs", import.meta.url).pathname;
await Deno.mkdir(dir, { recursive: true });

async function openssl(...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

await openssl(
  "req",
  "-x509",
  ...newKey,
  "-keyout",
  "ca.key",
  "-out",
  "ca.pem",
  "-days",
  "30",
  "-subj",
  "/CN=Pyro example CA",
  "-addext",
  "basicConstraints=critical,CA:TRUE",
  "-addext",
  "keyUsage=critical,keyCertSign,cRLSign",
);

for (
  const [name, usage, san] of [
    ["server", "serverAuth", "IP:127.0.0.1,DNS:localhost"],
    ["client", "clientAuth", "DNS:example-client"],
  ] as const
) {
  await openssl(
    "req",
    ...newKey,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=example ${name}`,
  );
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    `basicConstraints=critical,CA:FALSE\nsubjectAltName=${san}\n` +
      `keyUsage=critical,digitalSignature\nextendedKeyUsage=${usage}\n`,
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "30",
    "-extfile",
    `${name}.ext`,
  );
}
for (const file of ["server.csr", "server.ext", "client.csr", "client.ext", "ca.srl"]) {
  await Deno.remove(`${dir}/${file}`);
}
console.log(`certs: wrote ca.pem, server.pem/.key and client.pem/.key to ${dir}`);
