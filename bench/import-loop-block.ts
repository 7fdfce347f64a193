// Issue 16: how long a bulk import blocks the event loop. Imports `--apps` applications (10 per organisation)
// into a fresh database through the same steps as POST /admin/v1/import (validate, check, write in batches)
// while monitorEventLoopDelay and a 1 ms timer watch the loop; prints the longest block and percentiles of the
// write phase, and the longest block of validation (which the route runs as the NDJSON body streams in).
// Usage: node bench/import-loop-block.ts [--apps 10000] [--engine sqlite|postgres] [--batch 500]
//        [--max-batch-ms 100] (the route's default when no batch_size is given; omit: fixed batches)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { ImportValidator, seedCatalog, writeImport } from '../src/directory/index.ts';
import { openStorage, type StorageOptions } from '../src/storage/index.ts';

const { values } = parseArgs({
  options: {
    apps: { type: 'string', default: '10000' },
    engine: { type: 'string', default: 'sqlite' },
    batch: { type: 'string', default: '500' },
    'max-batch-ms': { type: 'string' },
  },
});
const apps = Number(values.apps);
const perOrg = 10;
const pgUrl = process.env.ACCREDIT_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let options: StorageOptions;
let cleanup: () => Promise<void>;
if (values.engine === 'postgres') {
  const schema = `bench_import_${process.pid}`;
  options = { url: pgUrl, schema };
  cleanup = async () => {
    const client = new pg.Client({ connectionString: pgUrl });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await client.end();
  };
} else {
  const dir = mkdtempSync(join(tmpdir(), 'accredit-import-bench-'));
  options = { url: join(dir, 'accredit.db') };
  cleanup = async () => rmSync(dir, { recursive: true, force: true });
}

const storage = await openStorage(options);
try {
  await storage.transaction((tx) => seedCatalog(tx));
  const records = Array.from({ length: Math.ceil(apps / perOrg) }, (_, i) => ({
    external_ref: `bench-${i}`,
    name: `Bench Partner ${i}`,
    roles: ['partner_reader'],
    contacts: [{ kind: 'technical', name: `Tech ${i}`, email: `tech${i}@bench${i}.example` }],
    applications: Array.from({ length: perOrg }, (_, a) => ({
      external_ref: `bench-${i}-app-${a}`,
      name: `Bench ${i} app ${a}`,
      roles: a === 0 ? ['partner_reader'] : [],
    })),
  }));

  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let last = performance.now();
  let longestGap = 0;
  // CPU time between two ticks: the block itself, whatever else the machine runs (wall gaps include the
  // time this process waited for a core).
  let lastCpu = process.cpuUsage();
  let longestCpu = 0;
  const ticker = setInterval(() => {
    const t = performance.now();
    longestGap = Math.max(longestGap, t - last);
    last = t;
    const cpu = process.cpuUsage(lastCpu);
    longestCpu = Math.max(longestCpu, (cpu.user + cpu.system) / 1000);
    lastCpu = process.cpuUsage();
  }, 1);
  histogram.enable();
  const started = performance.now();
  const now = new Date();
  const validator = await ImportValidator.open(storage.db, now);
  // As the route validates a JSON array: a turn for the event loop every 100 records.
  for (const [i, record] of records.entries()) {
    validator.add(record);
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  const summary = await validator.checkDirectory(storage.db);
  if (validator.findingsTotal > 0) throw new Error(JSON.stringify(validator.findings.slice(0, 3)));
  const validateMax = histogram.max;
  const validateGap = longestGap;
  const validateCpu = longestCpu;
  histogram.reset();
  longestGap = 0;
  longestCpu = 0;
  const batches = await writeImport(storage, validator.records, {
    actor: 'operator:bench',
    now,
    importId: 'bench',
    batchSize: Number(values.batch),
    maxBatchMs: values['max-batch-ms'] === undefined ? undefined : Number(values['max-batch-ms']),
  });
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  clearInterval(ticker);
  const ms = (ns: number) => (ns / 1e6).toFixed(1);
  console.log(
    JSON.stringify({
      engine: values.engine,
      applications: summary.applications.create,
      organisations: summary.organisations.create,
      batches: batches.length,
      max_batch_ms: values['max-batch-ms'] ?? null,
      seconds: Number(seconds.toFixed(1)),
      loop_delay_ms: {
        max: Number(ms(histogram.max)),
        p99: Number(ms(histogram.percentile(99))),
        p50: Number(ms(histogram.percentile(50))),
      },
      longest_timer_gap_ms: Number(longestGap.toFixed(1)),
      longest_cpu_block_ms: Number(longestCpu.toFixed(1)),
      validate_ms: {
        loop_delay_max: Number(ms(validateMax)),
        timer_gap: Number(validateGap.toFixed(1)),
        cpu_block: Number(validateCpu.toFixed(1)),
      },
    }),
  );
} finally {
  await storage.close();
  await cleanup();
}
