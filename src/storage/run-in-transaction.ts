import type { Kysely, Transaction } from 'kysely';

/**
 * Runs `fn` in a transaction, commits, and on failure rethrows the failure's own error. SQLite rolls the
 * transaction back by itself on SQLITE_FULL, SQLITE_IOERR and the like, so the ROLLBACK that follows fails with
 * "no transaction is active"; Kysely's `transaction().execute()` would throw that and lose the cause. A failed
 * rollback is attached to the original as `rollbackError` (logged with it), never thrown in its place.
 */
export async function runInTransaction<DB, T>(
  db: Kysely<DB>,
  fn: (trx: Transaction<DB>) => Promise<T>,
): Promise<T> {
  const trx = await db.startTransaction().execute();
  try {
    const result = await fn(trx);
    await trx.commit().execute();
    return result;
  } catch (error) {
    try {
      await trx.rollback().execute();
    } catch (rollbackError) {
      attachRollbackError(error, rollbackError);
    }
    throw error;
  }
}

function attachRollbackError(error: unknown, rollbackError: unknown): void {
  if (typeof error !== 'object' || error === null || !Object.isExtensible(error)) return;
  if ('rollbackError' in error) return;
  Object.defineProperty(error, 'rollbackError', {
    value: rollbackError,
    enumerable: true,
    configurable: true,
    writable: true,
  });
}
