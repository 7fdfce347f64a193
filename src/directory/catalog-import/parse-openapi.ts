import SwaggerParser from '@apidevtools/swagger-parser';
import { parseDocument } from 'yaml';
import { exceedsJsonDepth } from '../../shared/json-depth.ts';
import { error, type ImportFinding, isObject, pointerOf, warning } from './findings.ts';

/** Generous for a hand-written API description; the admin API and the CLI check it first too. */
export const MAX_OPENAPI_BYTES = 5 * 1024 * 1024;
/**
 * Deeper than `MAX_JSON_DEPTH` (64): an inline response schema alone sits eight levels down
 * (`paths/{p}/get/responses/200/content/{type}/schema`), and nested inline objects add two levels each.
 */
export const MAX_OPENAPI_DEPTH = 128;
/** yaml's own default, stated: every alias expansion counts, so a "billion laughs" document stops early. */
export const MAX_YAML_ALIASES = 100;
/** Bounds the dereference (the only step whose cost is not linear in the text). */
export const OPENAPI_PARSE_TIMEOUT_MS = 5_000;
/** Enough findings to fix a document in a few rounds, few enough to read. */
const MAX_FINDINGS_PER_STEP = 20;

export interface ParseOpenApiOptions {
  maxBytes?: number;
  maxDepth?: number;
  timeoutMs?: number;
}

/** A dereferenced OpenAPI 3.0 or 3.1 document: `$ref`s are replaced by (shared, possibly circular) values. */
export type OpenApiDocument = Record<string, unknown> & { openapi: string };

export interface ParsedOpenApi {
  /** Null whenever `findings` holds an error. */
  spec: OpenApiDocument | null;
  version: '3.0' | '3.1' | null;
  findings: ImportFinding[];
}

const VERSION = /^3\.([01])\.\d+$/;

/**
 * Reads an OpenAPI description a provider uploaded: JSON or YAML text, validated against the OpenAPI schema
 * and dereferenced with only its own `#/…` references. Nothing in the document can make this read a file or
 * open a connection: an external `$ref` is a finding, and the parser runs with every resolver disabled as
 * well. Every failure is a finding; it never throws for anything the text contains.
 */
export async function parseOpenApi(text: string, options: ParseOpenApiOptions = {}): Promise<ParsedOpenApi> {
  const maxBytes = options.maxBytes ?? MAX_OPENAPI_BYTES;
  const maxDepth = options.maxDepth ?? MAX_OPENAPI_DEPTH;
  const fail = (...findings: ImportFinding[]): ParsedOpenApi => ({ spec: null, version: null, findings });

  if (typeof text !== 'string') return fail(error('not_text', '', 'the document must be text'));
  if (Buffer.byteLength(text, 'utf8') > maxBytes) {
    return fail(error('too_large', '', `the document is larger than ${maxBytes} bytes`));
  }
  const read = readText(text.replace(/^\uFEFF/, ''), maxDepth);
  if (read.findings.some((f) => f.severity === 'error')) return fail(...read.findings);
  const findings = read.findings;
  const raw = read.value;

  if (!isObject(raw)) return fail(...findings, error('not_an_object', '', 'the document must be an object'));
  if ('swagger' in raw) {
    return fail(
      ...findings,
      error(
        'unsupported_version',
        '/swagger',
        'Swagger 2.0 is not supported: convert the document to OpenAPI 3.0 or 3.1 first',
      ),
    );
  }
  const match = typeof raw.openapi === 'string' ? VERSION.exec(raw.openapi) : null;
  if (!match) {
    return fail(
      ...findings,
      error(
        'unsupported_version',
        '/openapi',
        `"openapi" must name version 3.0.x or 3.1.x, got ${JSON.stringify(raw.openapi ?? null)}`,
      ),
    );
  }
  const version = match[1] === '0' ? '3.0' : '3.1';
  // 3.0 requires paths; a 3.1 document may hold only webhooks or components, but then there is nothing to import.
  if (version === '3.0' ? !isObject(raw.paths) : raw.paths === undefined && raw.webhooks === undefined) {
    return fail(...findings, error('invalid_openapi', '/paths', 'the document has no "paths"'));
  }

  const external = externalRefs(raw);
  if (external.length > 0) return fail(...findings, ...cap(external));

  const parserOptions = {
    // No resolver at all: the parser is given the object, and every reference must stay inside it.
    resolve: { external: false, file: false, http: false },
    timeoutMs: options.timeoutMs ?? OPENAPI_PARSE_TIMEOUT_MS,
  };
  try {
    // Schema validation of the document as written ($refs are Reference Objects to the OpenAPI schema). The
    // parser's default validates the dereferenced value instead, whose size grows exponentially with
    // references that fan out (A → B, B; B → C, C; …): validation time must follow the text's size.
    await new SwaggerParser().validate(
      raw as never,
      {
        ...parserOptions,
        dereference: { excludedPathMatcher: () => true },
        validate: { spec: false },
      } as SwaggerParser.Options,
    );
  } catch (err) {
    return fail(...findings, ...cap(validationFindings(err)));
  }
  try {
    const spec = await new SwaggerParser().dereference(
      raw as never,
      {
        ...parserOptions,
        dereference: { circular: true },
      } as SwaggerParser.Options,
    );
    return { spec: spec as unknown as OpenApiDocument, version, findings };
  } catch (err) {
    return fail(...findings, error('unresolvable_ref', '', withoutBase(messageOf(err))));
  }
}

interface Read {
  value: unknown;
  findings: ImportFinding[];
}

/** JSON when the text starts like JSON (depth checked before parsing), YAML 1.2 core schema otherwise. */
function readText(text: string, maxDepth: number): Read {
  const trimmed = text.trimStart();
  if (trimmed.length === 0)
    return { value: undefined, findings: [error('invalid_yaml', '', 'the document is empty')] };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    if (exceedsJsonDepth(text, maxDepth)) {
      return {
        value: undefined,
        findings: [error('too_deep', '', `the document nests deeper than ${maxDepth} levels`)],
      };
    }
    try {
      return { value: JSON.parse(text), findings: [] };
    } catch (err) {
      return { value: undefined, findings: [error('invalid_json', '', messageOf(err))] };
    }
  }
  return readYaml(text, maxDepth);
}

function readYaml(text: string, maxDepth: number): Read {
  try {
    const doc = parseDocument(text, {
      version: '1.2',
      // The core schema, without the YAML 1.1 extras (`!!binary`, `!!set`, `!!timestamp`, `<<` merges) and with
      // no custom tags: a document is data, nothing in it constructs anything.
      schema: 'core',
      merge: false,
      customTags: [],
      resolveKnownTags: false,
      uniqueKeys: true,
      strict: true,
      prettyErrors: true,
    });
    const findings: ImportFinding[] = [];
    for (const e of doc.errors.slice(0, MAX_FINDINGS_PER_STEP)) {
      // The YAML composer recurses: nesting tens of thousands of levels overflows the stack, reported here.
      findings.push(
        e.message.startsWith('Maximum call stack size exceeded')
          ? error('too_deep', '', `the document nests deeper than ${maxDepth} levels`)
          : error('invalid_yaml', '', e.message),
      );
    }
    for (const w of doc.warnings.slice(0, MAX_FINDINGS_PER_STEP)) {
      findings.push(
        w.code === 'TAG_RESOLVE_FAILED'
          ? error('yaml_tag', '', `YAML tags are not accepted: ${w.message}`)
          : warning('yaml_warning', '', w.message),
      );
    }
    if (findings.some((f) => f.severity === 'error')) return { value: undefined, findings: unique(findings) };
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    } catch (err) {
      if (err instanceof ReferenceError) {
        return { value: undefined, findings: [error('yaml_aliases', '', messageOf(err))] };
      }
      throw err;
    }
    const height = heightOf(value, maxDepth);
    if (height === 'cyclic') {
      return {
        value: undefined,
        findings: [error('invalid_yaml', '', 'an alias refers to a node that contains it')],
      };
    }
    if (height > maxDepth) {
      return {
        value: undefined,
        findings: [error('too_deep', '', `the document nests deeper than ${maxDepth} levels`)],
      };
    }
    return { value, findings };
  } catch (err) {
    if (err instanceof RangeError) {
      return {
        value: undefined,
        findings: [error('too_deep', '', `the document nests deeper than ${maxDepth} levels`)],
      };
    }
    return { value: undefined, findings: [error('invalid_yaml', '', messageOf(err))] };
  }
}

/**
 * How many objects and arrays deep `value` nests (JSON.parse's count), without recursion. YAML aliases make
 * the value a graph with shared nodes, so each node's height is computed once; the walk stops early once
 * `limit` is exceeded.
 */
function heightOf(value: unknown, limit: number): number | 'cyclic' {
  const heights = new Map<object, number>();
  const open = new Set<object>();
  const stack: Array<{ node: object; children: object[]; next: number }> = [];
  const push = (node: object) => {
    open.add(node);
    const children = Object.values(node).filter((c): c is object => typeof c === 'object' && c !== null);
    stack.push({ node, children, next: 0 });
  };
  if (typeof value !== 'object' || value === null) return 0;
  push(value);
  while (stack.length > 0) {
    if (stack.length > limit) return limit + 1;
    const top = stack[stack.length - 1]!;
    const child = top.children[top.next];
    if (child !== undefined) {
      top.next++;
      if (open.has(child)) return 'cyclic';
      if (!heights.has(child)) push(child);
      continue;
    }
    stack.pop();
    open.delete(top.node);
    let height = 1;
    for (const c of top.children) height = Math.max(height, 1 + (heights.get(c) ?? 0));
    heights.set(top.node, height);
  }
  return heights.get(value) ?? 0;
}

/** Every `$ref` that leaves the document (anything but `#…`), found before the parser sees it. */
function externalRefs(root: Record<string, unknown>): ImportFinding[] {
  const found: ImportFinding[] = [];
  const seen = new Set<object>();
  const stack: Array<{ node: unknown; path: string }> = [{ node: root, path: '' }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    for (const [key, child] of Object.entries(node)) {
      const childPath = path + pointerOf(key);
      if (key === '$ref' && typeof child === 'string' && !child.startsWith('#')) {
        found.push(
          error(
            'external_ref',
            childPath,
            `the reference ${JSON.stringify(child.slice(0, 200))} leaves the document: only "#/…" references are resolved, nothing is fetched or read`,
          ),
        );
      } else {
        stack.push({ node: child, path: childPath });
      }
    }
  }
  return found.sort((a, b) => (a.pointer < b.pointer ? -1 : a.pointer > b.pointer ? 1 : 0));
}

interface AjvError {
  instancePath?: unknown;
  message?: unknown;
}

/** The OpenAPI schema's complaints, each at its JSON pointer; anything else as one finding. */
function validationFindings(err: unknown): ImportFinding[] {
  const details = (err as { details?: unknown } | null)?.details;
  if (Array.isArray(details) && details.length > 0) {
    const seen = new Set<string>();
    const found: ImportFinding[] = [];
    for (const d of details as AjvError[]) {
      const pointer = typeof d.instancePath === 'string' ? d.instancePath : '';
      const detail = `${pointer || 'the document'} ${typeof d.message === 'string' ? d.message : 'is invalid'}`;
      if (seen.has(detail)) continue;
      seen.add(detail);
      found.push(error('invalid_openapi', pointer, detail));
    }
    return found;
  }
  if (err instanceof RangeError) return [error('too_deep', '', messageOf(err))];
  return [error('invalid_openapi', '', withoutBase(messageOf(err)))];
}

/** One finding per code and detail: a stack overflow, for one, is reported at every level it unwinds. */
function unique(findings: ImportFinding[]): ImportFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.code} ${f.detail}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function cap(findings: ImportFinding[]): ImportFinding[] {
  if (findings.length <= MAX_FINDINGS_PER_STEP) return findings;
  const first = findings[0]!;
  return [
    ...findings.slice(0, MAX_FINDINGS_PER_STEP),
    { ...first, pointer: '', detail: `and ${findings.length - MAX_FINDINGS_PER_STEP} more like these` },
  ];
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The parser names references with the process's working directory as their base: not the caller's business. */
function withoutBase(message: string): string {
  return message.replace(/"[^"#]*#/g, '"#').replace(process.cwd(), '.');
}
