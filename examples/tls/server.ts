/**
 * The server of the TLS example: a Daemon that speaks TLS with its own certificate and
 * demands a client certificate signed by the example CA (mutual TLS). Methods can see which
 * certificate the caller presented.
 *
 * Run: `deno run -A examples/tls/server.ts [CERTS_DIR]` (with a Name Server running and the
 * certificates made by `make_certs.ts`).
 *
 * @module
 */

import { currentContext, Daemon, expose, serve } from "../../mod.ts";

const dir = Deno.args[0] ?? new URL("./certs", import.meta.url).pathname;
const pem = (file: string) => Deno.readTextFileSync(`${dir}/${file}`);

/** A safe that only talks over TLS to clients with a certificate. */
@expose
export class Safe {
  /** The common name of the caller's certificate. */
  whoami(): string {
    return currentContext()?.connection.peerCertificate?.subject.CN ?? "nobody";
  }

  /** Something worth encrypting. */
  contents(): string {
    return "the crown jewels";
  }
}

const daemon = new Daemon({
  host: "127.0.0.1",
  tls: {
    cert: pem("server.pem"),
    key: pem("server.key"),
    caCerts: [pem("ca.pem")],
    requireClientCert: true,
  },
});
// The Name Server itself is plain TCP here; only the connections to the safe use TLS.
await serve({
  "example.tls.safe": new Safe(),
}, { daemon, verbose: false, onReady: () => console.log("server: ready") });
