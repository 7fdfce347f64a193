// A worker thread that answers the admin API's long lists (issue 16) from its own SQLite connection: the
// query, the rows and their JSON serialisation happen here, so the platform's event loop — which the gateway
// shares in the embedded default — only writes a ready string. node:sqlite is synchronous: on the main
// thread a 1,000-row page holds the loop for tens of milliseconds, here it holds nothing.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { listApplicationsPage, listOrganisationsPage } from '../../directory/index.ts';
import { listCertificatesPage } from '../../pki/index.ts';
import { isCodedError } from '../../shared/app-error.ts';
import { openStorage } from '../../storage/index.ts';
import {
  accessReviewSummary,
  expiringCertificatesAnswer,
  inactiveClientsAnswer,
  roleHoldersAnswer,
} from './access-review-pages.ts';
import type { ListRequest, ListResponse } from './list-reader.ts';

// Administration yields the CPU to enforcement: on Linux the nice value is per thread, and pid 0 is this one
// (elsewhere it would be the process: not attempted there).
if (process.platform === 'linux') {
  try {
    setPriority(0, 10);
  } catch {
    // Not permitted (a container without CAP_SYS_NICE cannot lower a nice value, but raising it is allowed).
  }
}

const { url, schema } = workerData as { url: string; schema?: string | undefined };
const storage = await openStorage({ url, schema, pollIntervalMs: 3_600_000 });

async function answer(request: ListRequest): Promise<string> {
  const now = new Date(request.now);
  switch (request.list) {
    case 'applications':
      return JSON.stringify(await listApplicationsPage(storage.db, request.filter, request.page, now));
    case 'organisations':
      return JSON.stringify(await listOrganisationsPage(storage.db, request.filter, request.page));
    case 'certificates':
      return JSON.stringify(await listCertificatesPage(storage.db, request.filter, request.page));
    case 'access-review-summary':
      return JSON.stringify(await accessReviewSummary(storage.db, now));
    case 'role-holders':
      return JSON.stringify(await roleHoldersAnswer(storage.db, request.filter, request.page, now));
    case 'inactive-clients':
      return JSON.stringify(
        await inactiveClientsAnswer(storage.db, request.filter.inactiveDays, request.page, now),
      );
    case 'expiring-certificates':
      return JSON.stringify(
        await expiringCertificatesAnswer(storage.db, request.filter.expiringDays, request.page, now),
      );
  }
}

const utf8 = new TextEncoder();

/**
 * At most half of one CPU: after a page that took t ms of work, the next waits t ms. On a small machine the
 * nice value alone did not keep a fast walk of a large list (50+ pages a second) from taking CPU time the gateway
 * needed; an operator's walk of 100,000 rows still takes seconds.
 */
const DUTY_CYCLE = 0.5;
const queue: ListRequest[] = [];
let running = false;

function reply(request: ListRequest, outcome: { json: string } | { err: unknown }): void {
  if ('json' in outcome) {
    // A fresh buffer of its own (never Buffer's shared pool), handed over rather than copied.
    const body = utf8.encode(outcome.json);
    parentPort?.postMessage({ id: request.id, body } satisfies ListResponse, [body.buffer]);
    return;
  }
  const { err } = outcome;
  const coded = isCodedError(err) && err.expose;
  parentPort?.postMessage({
    id: request.id,
    error: coded
      ? { code: err.code, status: err.status, message: err.message }
      : { code: 'internal_error', status: 500, message: String((err as Error)?.message ?? err) },
  } satisfies ListResponse);
}

async function drain(): Promise<void> {
  running = true;
  for (let request = queue.shift(); request !== undefined; request = queue.shift()) {
    const started = performance.now();
    try {
      reply(request, { json: await answer(request) });
    } catch (err) {
      reply(request, { err });
    }
    const worked = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, (worked * (1 - DUTY_CYCLE)) / DUTY_CYCLE));
  }
  running = false;
}

parentPort?.on('message', (request: ListRequest | { type: 'close' }) => {
  if ('type' in request) {
    storage.close().finally(() => parentPort?.close());
    return;
  }
  queue.push(request);
  if (!running) void drain();
});
parentPort?.postMessage({ id: 0, json: 'ready' } satisfies ListResponse);
