import { randomUUID } from 'node:crypto';
import type { EventSigner } from '../events/index.ts';
import { SET_TYP } from './ssf-vocabulary.ts';
import type { SubjectIdentifier } from './subject-identifier.ts';

export interface SetContent {
  iss: string;
  aud: string | string[];
  subId: SubjectIdentifier;
  type: string;
  payload: Record<string, unknown>;
  /** RFC 8417 §2.2 `txn`: the platform event's id, the same in every stream's SET about it. */
  txn?: string;
}

/**
 * A Security Event Token (RFC 8417 §2.2: iss, iat, jti, aud, events; SSF 1.0 §4.1: the subject in a
 * top-level `sub_id`, one event per SET), signed with the platform's event key, `typ` secevent+jwt (§2.3).
 * No `exp`: a SET states a fact, it does not grant anything (RFC 8417 §4.5 keeps it from being an access token).
 */
export async function signSet(
  signer: EventSigner,
  content: SetContent,
  now: Date,
): Promise<{ jti: string; token: string }> {
  const jti = randomUUID();
  const token = await signer.sign(
    {
      iss: content.iss,
      iat: Math.floor(now.getTime() / 1000),
      jti,
      aud: content.aud,
      ...(content.txn ? { txn: content.txn } : {}),
      sub_id: content.subId,
      events: { [content.type]: content.payload },
    },
    SET_TYP,
  );
  return { jti, token };
}
