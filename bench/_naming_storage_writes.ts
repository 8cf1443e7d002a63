/**
 * Registration rates through PostgreSQL Name Server storage, in one process: two storages on a
 * throw-away durable cluster (tests/_postgres.ts, `fsync` on), the second idle (a mirror that
 * answers the first one's barriers, where the code has mirrors), and `register` calls through the
 * first from 1 and from 4 loops, 2 s each, twice. The tree to measure is the argument, so that the
 * code before a change can be measured beside the code after it in alternating runs:
 *
 * ```sh
 * git worktree add --detach /tmp/before <commit>
 * for i in 1 2 3; do
 *   deno run -A bench/_naming_storage_writes.ts /tmp/before
 *   deno run -A bench/_naming_storage_writes.ts "$PWD"
 * done
 * ```
 *
 * @module
 */

import { postgresUnavailable } from "../tests/_postgres.ts";

interface Storage {
  open(): Promise<void>;
  mirrorServing?(): Promise<void>;
  register(name: string, uri: string, tags: string[] | null, safe: boolean): Promise<boolean>;
  close(): Promise<void>;
}

const tree = new URL(`${Deno.args[0] ?? "."}/`, `file://${Deno.cwd()}/`).href;
const reason = postgresUnavailable();
if (reason !== null) {
  console.log(`skipped: ${reason}`);
  Deno.exit(0);
}
const { startPostgres } = await import(`${tree}tests/_postgres.ts`);
const { PostgresStorage } = await import(`${tree}_naming/postgres.ts`) as {
  PostgresStorage: new (url: string) => Storage;
};
await using cluster = await startPostgres({ durable: true });
const a = new PostgresStorage(cluster.url), b = new PostgresStorage(cluster.url);
await a.open();
await b.open();
await Promise.all([a.mirrorServing?.(), b.mirrorServing?.()]);
const out: string[] = [];
let n = 0;
for (const loops of [1, 4, 1, 4]) {
  let done = 0;
  const end = performance.now() + 2000;
  await Promise.all(Array.from({ length: loops }, async () => {
    while (performance.now() < end) {
      await a.register(`w.${n++}`, "PYRO:x@127.0.0.1:1", ["t"], false);
      done++;
    }
  }));
  out.push(`${loops} loop${loops > 1 ? "s" : ""} ${Math.round(done / 2)}/s`);
}
console.log(`${Deno.args[0] ?? "."}: ${out.join(", ")}`);
await a.close();
await b.close();
