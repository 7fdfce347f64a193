// The administration side of `bench admin-isolation`, in a worker thread (its own event loop, so parsing
// large pages never delays the load generator's clock): walks every page of the application listing, over and
// over, with the operator overview and an access review (summary, role holders, a walk of the clients without
// traffic) after each walk, and runs a bulk import, for as long as the parent says.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Agent, request } from 'undici';
import type { Material } from './admin-isolation-protocol.ts';

const { material, pageLimit, importOrganisations } = workerData as {
  material: Material;
  pageLimit: number;
  importOrganisations: number;
};
// The operator's client would run on another machine: on Linux this thread alone gets the lowest priority.
if (process.platform === 'linux') setPriority(0, 19);
const agent = new Agent({ connect: { ca: material.caPem }, connections: 2 });
const auth = { authorization: `Bearer ${material.operatorToken}` };
let running = false;
let stats = { pages: 0, walks: 0, rows: 0, imports: 0, importMs: 0, reviews: 0, errors: 0, firstError: '' };

async function walk(): Promise<void> {
  let cursor: string | null = null;
  do {
    if (!running) return;
    const query: string = `limit=${pageLimit}${cursor ? `&cursor=${cursor}` : ''}`;
    const res = await request(`${material.publicOrigin}/admin/v1/applications?${query}`, {
      headers: auth,
      dispatcher: agent,
    });
    const body = (await res.body.json()) as { items?: unknown[]; next_cursor?: string | null };
    if (res.statusCode !== 200 || !Array.isArray(body.items)) {
      stats.errors++;
      stats.firstError ||= `listing answered ${res.statusCode}`;
      return;
    }
    stats.pages++;
    stats.rows += body.items.length;
    cursor = body.next_cursor ?? null;
  } while (cursor);
  stats.walks++;
  await review();
}

/** GET one admin path; false (counted as an error) unless it answers 200 with a JSON object. */
async function get(path: string): Promise<{ items?: unknown[]; next_cursor?: string | null } | undefined> {
  const res = await request(`${material.publicOrigin}${path}`, { headers: auth, dispatcher: agent });
  const body = (await res.body.json()) as { items?: unknown[]; next_cursor?: string | null };
  if (res.statusCode !== 200) {
    stats.errors++;
    stats.firstError ||= `${path} answered ${res.statusCode}`;
    return undefined;
  }
  return body;
}

/** The operator overview, the access-review summary and first page of role holders, and every page of the
 * clients without traffic for a day. */
async function review(): Promise<void> {
  if (!running) return;
  if (!(await get('/admin/v1/overview'))) return;
  if (!(await get('/admin/v1/access-reviews'))) return;
  if (!(await get(`/admin/v1/access-reviews/role-holders?limit=${pageLimit}`))) return;
  let cursor: string | null = null;
  do {
    if (!running) return;
    const page = await get(
      `/admin/v1/access-reviews/inactive-clients?inactive_days=1&limit=${pageLimit}${cursor ? `&cursor=${cursor}` : ''}`,
    );
    if (!page) return;
    cursor = page.next_cursor ?? null;
  } while (cursor);
  stats.reviews++;
}

async function importOnce(round: number): Promise<void> {
  const lines = Array.from({ length: importOrganisations }, (_, i) =>
    JSON.stringify({
      external_ref: `bench-${round}-${i}`,
      name: `Bench Import ${round} ${i}`,
      applications: Array.from({ length: 5 }, (_, a) => ({ external_ref: `a${a}`, name: `App ${a}` })),
    }),
  ).join('\n');
  const started = performance.now();
  const res = await request(`${material.publicOrigin}/admin/v1/import`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-ndjson' },
    body: lines,
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) {
    stats.errors++;
    stats.firstError ||= `import answered ${res.statusCode}: ${text.slice(0, 200)}`;
    return;
  }
  stats.imports++;
  stats.importMs += performance.now() - started;
}

let loop: Promise<void> = Promise.resolve();

parentPort?.on('message', (message: { type: 'go'; round: number } | { type: 'stop' } | { type: 'exit' }) => {
  if (message.type === 'go') {
    running = true;
    stats = { pages: 0, walks: 0, rows: 0, imports: 0, importMs: 0, reviews: 0, errors: 0, firstError: '' };
    loop = (async () => {
      // The import and the listing run side by side, as two operators would.
      const imported = importOrganisations > 0 ? importOnce(message.round) : Promise.resolve();
      while (running) await walk();
      await imported;
    })().catch((err: Error) => {
      stats.errors++;
      stats.firstError ||= err.message;
    });
  } else if (message.type === 'stop') {
    running = false;
    loop.then(() => parentPort?.postMessage({ type: 'stats', stats }));
  } else {
    agent.close().finally(() => process.exit(0));
  }
});
