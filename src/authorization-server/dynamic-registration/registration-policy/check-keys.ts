import { calculateJwkThumbprint, type JWK } from 'jose';
import { lintClientJwks } from '../../../directory/index.ts';
import { FetchError } from '../../../shared/guarded-fetch/index.ts';
import { type Draft, metadataFinding } from './draft.ts';

const isJwkSet = (v: unknown): v is { keys: unknown[] } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray((v as { keys?: unknown }).keys);

async function thumbprints(jwks: unknown): Promise<Set<string>> {
  const keys = (jwks as { keys?: unknown } | undefined)?.keys;
  const out = new Set<string>();
  if (!Array.isArray(keys)) return out;
  for (const key of keys) {
    try {
      out.add(await calculateJwkThumbprint(key as JWK, 'sha256'));
    } catch {
      // Not a usable JWK: lintClientJwks reports it.
    }
  }
  return out;
}

/** The server fetches the jwks_uri: never one on a loopback, private or link-local host (no SSRF). */
async function checkFetchable(d: Draft, jwksUri: string): Promise<void> {
  try {
    await d.context.urlGuard.assertFetchable(jwksUri);
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    metadataFinding(d, 'jwks_uri', `is not a URL this server fetches: ${err.message}`, 'RFC 7591 §5');
  }
}

/**
 * The client's keys: with a statement, the statement's jwks_uri exactly or keys of its jwks (a subset narrows,
 * an unknown key widens); without one, the request's. Each public and of an acceptable type and strength, and
 * keys wherever the method needs them.
 */
export async function checkKeys(d: Draft): Promise<void> {
  const { jwks, jwks_uri: jwksUri } = d.request;
  const statement = d.statement;
  if (jwks !== undefined && jwksUri !== undefined) {
    metadataFinding(d, 'jwks', 'jwks and jwks_uri must not both be present', 'RFC 7591 §2');
  }
  if (jwksUri !== undefined) {
    if (typeof jwksUri !== 'string') {
      metadataFinding(d, 'jwks_uri', 'must be a URL', 'RFC 7591 §2');
    } else if (statement && statement.jwksUri === undefined) {
      metadataFinding(d, 'jwks_uri', 'the software statement names no jwks_uri', 'RFC 7591 §3.1.1');
    } else if (statement && jwksUri !== statement.jwksUri) {
      metadataFinding(d, 'jwks_uri', 'must be the software statement’s jwks_uri', 'RFC 7591 §3.1.1');
    }
    d.jwksUri = typeof jwksUri === 'string' ? jwksUri : undefined;
  }
  if (jwks !== undefined && !isJwkSet(jwks)) {
    // null, a string, an array…: not a JWK Set, and nothing to compare with the statement's keys.
    metadataFinding(
      d,
      'jwks',
      'must be a JWK Set: an object with a "keys" array',
      'RFC 7591 §2, RFC 7517 §5',
    );
  } else if (jwks !== undefined) {
    if (statement && statement.jwks === undefined) {
      metadataFinding(d, 'jwks', 'the software statement carries no jwks', 'RFC 7591 §3.1.1');
    } else if (statement) {
      const attested = await thumbprints(statement.jwks);
      for (const [i, key] of jwks.keys.entries()) {
        const [print] = await thumbprints({ keys: [key] });
        if (print !== undefined && !attested.has(print)) {
          metadataFinding(
            d,
            `jwks.keys[${i}]`,
            'is not one of the software statement’s keys',
            'RFC 7591 §3.1.1',
          );
        }
      }
    }
    d.jwks = jwks;
  }
  if (jwks === undefined && jwksUri === undefined && statement) {
    d.jwks = statement.jwks;
    d.jwksUri = statement.jwksUri;
    if (d.jwks !== undefined && d.jwksUri !== undefined) {
      metadataFinding(d, 'jwks', 'the software statement carries both jwks and jwks_uri', 'RFC 7591 §2');
    }
  }
  // The statement's keys are linted too: this server does not take the issuer's word for key strength.
  if (d.jwks !== undefined) {
    for (const f of lintClientJwks(d.jwks))
      metadataFinding(d, f.field, f.message, 'RFC 7517 §4, RFC 7518 §6');
  }
  if (d.jwksUri !== undefined && (!URL.canParse(d.jwksUri) || new URL(d.jwksUri).protocol !== 'https:')) {
    metadataFinding(d, 'jwks_uri', 'must be an https URL', 'RFC 7591 §2');
  } else if (d.jwksUri !== undefined) {
    await checkFetchable(d, d.jwksUri);
  }
  if (d.authMethod === 'private_key_jwt' && d.jwks === undefined && d.jwksUri === undefined) {
    metadataFinding(
      d,
      'jwks',
      'private_key_jwt needs the client’s public keys (jwks or jwks_uri)',
      'RFC 7523 §2.2',
    );
  }
  if (d.authMethod === 'self_signed_tls_client_auth' && d.jwks === undefined) {
    metadataFinding(
      d,
      'jwks',
      'self_signed_tls_client_auth needs its certificate inline in jwks (x5c)',
      'RFC 8705 §2.2',
    );
  }
}
