/**
 * Test certificates made at run time with `openssl` in a temporary directory: a CA, a server
 * leaf (`basicConstraints=critical,CA:FALSE`, `subjectAltName=IP:127.0.0.1`), a client leaf,
 * and a second, unrelated CA with its own server and client leaves for the "wrong CA" cases.
 */

/** PEM texts of the generated material. */
export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  otherCa: string;
  otherServerCert: string;
  otherServerKey: string;
  otherClientCert: string;
  otherClientKey: string;
  /** File paths, for the `SSL_*` configuration items. */
  files: Record<"ca" | "serverCert" | "serverKey" | "clientCert" | "clientKey", string>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=${name} test CA`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function makeLeaf(dir: string, ca: string, name: string, usage: string): Promise<void> {
  await openssl(dir, [
    "req",
    ...EC,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1\n" +
      `keyUsage=critical,digitalSignature\nextendedKeyUsage=${usage}\n`,
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

/** Makes a fresh set of certificates; remove `dir` when done. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "pyro_tls_" });
  await makeCa(dir, "ca");
  await makeCa(dir, "other");
  await makeLeaf(dir, "ca", "server", "serverAuth");
  await makeLeaf(dir, "ca", "client", "clientAuth");
  await makeLeaf(dir, "other", "oserver", "serverAuth");
  await makeLeaf(dir, "other", "oclient", "clientAuth");
  const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
  return {
    dir,
    ca: await read("ca.pem"),
    serverCert: await read("server.pem"),
    serverKey: await read("server.key"),
    clientCert: await read("client.pem"),
    clientKey: await read("client.key"),
    otherCa: await read("other.pem"),
    otherServerCert: await read("oserver.pem"),
    otherServerKey: await read("oserver.key"),
    otherClientCert: await read("oclient.pem"),
    otherClientKey: await read("oclient.key"),
    files: {
      ca: `${dir}/ca.pem`,
      serverCert: `${dir}/server.pem`,
      serverKey: `${dir}/server.key`,
      clientCert: `${dir}/client.pem`,
      clientKey: `${dir}/client.key`,
    },
  };
}
