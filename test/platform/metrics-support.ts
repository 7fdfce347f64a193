import { request } from 'undici';

/** One sample of a Prometheus text exposition: the metric name, its labels and its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Parses the text format (version 0.0.4): comments skipped, every sample line must parse. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of every sample of `name` whose labels include `labels`. */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export function has(samples: Sample[], name: string, labels: Record<string, string> = {}): boolean {
  return samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

export interface Scrape {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  samples: Sample[];
}

/** GET (or another method) on the metrics listener; samples only for a 200. */
export async function scrape(
  base: string,
  path = '/metrics',
  options: { method?: string; token?: string } = {},
): Promise<Scrape> {
  const res = await request(`${base}${path}`, {
    method: (options.method ?? 'GET') as 'GET',
    headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    text,
    samples: res.statusCode === 200 && path === '/metrics' ? parseExposition(text) : [],
  };
}
