import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../shared/clock.ts';
import type { Storage } from '../storage/index.ts';

/**
 * oidc-provider's persistence port over our storage (SQLite or PostgreSQL) instead of its in-memory
 * development adapter: every process of a deployment sees the same PAR requests, codes and replay records.
 */
export class StorageAdapter implements Adapter {
  readonly #model: string;
  readonly #storage: Storage;
  readonly #clock: Clock;

  constructor(model: string, storage: Storage, clock: Clock) {
    this.#model = model;
    this.#storage = storage;
    this.#clock = clock;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const row = {
      model: this.#model,
      id,
      payload: JSON.stringify(payload),
      grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
      uid: typeof payload.uid === 'string' ? payload.uid : null,
      user_code: typeof payload.userCode === 'string' ? payload.userCode : null,
      expires_at: expiresIn ? new Date(this.#clock().getTime() + expiresIn * 1000).toISOString() : null,
      consumed_at: null,
    };
    await this.#storage.db
      .insertInto('oidc_models')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['model', 'id']).doUpdateSet({
          payload: row.payload,
          grant_id: row.grant_id,
          uid: row.uid,
          user_code: row.user_code,
          expires_at: row.expires_at,
        }),
      )
      .execute();
  }

  async #findBy(column: 'id' | 'uid' | 'user_code', value: string): Promise<AdapterPayload | undefined> {
    const row = await this.#storage.db
      .selectFrom('oidc_models')
      .select(['payload', 'expires_at', 'consumed_at'])
      .where('model', '=', this.#model)
      .where(column, '=', value)
      .executeTakeFirst();
    if (!row) return undefined;
    if (row.expires_at && new Date(row.expires_at) <= this.#clock()) return undefined;
    const payload = JSON.parse(row.payload) as AdapterPayload;
    if (row.consumed_at) payload.consumed = Math.floor(new Date(row.consumed_at).getTime() / 1000);
    return payload;
  }

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('id', id);
  }

  findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('uid', uid);
  }

  findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findBy('user_code', userCode);
  }

  async consume(id: string): Promise<void> {
    await this.#storage.db
      .updateTable('oidc_models')
      .set({ consumed_at: this.#clock().toISOString() })
      .where('model', '=', this.#model)
      .where('id', '=', id)
      .execute();
  }

  async destroy(id: string): Promise<void> {
    await this.#storage.db
      .deleteFrom('oidc_models')
      .where('model', '=', this.#model)
      .where('id', '=', id)
      .execute();
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#storage.db.deleteFrom('oidc_models').where('grant_id', '=', grantId).execute();
  }
}

/** Removes expired artefacts; run periodically so the table does not grow without bound. */
export async function pruneExpiredOidcModels(storage: Storage, now: Date): Promise<number> {
  const result = await storage.db
    .deleteFrom('oidc_models')
    .where('expires_at', '<', now.toISOString())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
