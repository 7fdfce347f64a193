import type { Storage } from '../storage/index.ts';

export interface ClientDecisions {
  /**
   * How many allowed and refused requests of `clientId` with certificate `x5t` fell within [from, to] (ms),
   * on any node: the shared decision log (issue 16).
   */
  count(
    clientId: string,
    x5t: string,
    from: number,
    to: number,
  ): Promise<{ allowed: number; denied: number }>;
}

/**
 * What every node's doors decided, per client, read from the shared decision log, so that the platform can
 * check a submitted test-plan run against what it saw itself whichever node the run's requests went through.
 * `flush` first writes this node's buffered decisions; another node's reach the log within its flush
 * interval (about a second), which the run's observation slack covers.
 */
export function sharedClientDecisions(storage: Storage, flush: () => Promise<void>): ClientDecisions {
  return {
    async count(clientId, x5t, from, to) {
      await flush();
      const rows = await storage.db
        .selectFrom('decision_lines')
        .select((eb) => ['decision', eb.fn.countAll<number | string>().as('n')])
        .where('client_id', '=', clientId)
        .where('cert_x5t_s256', '=', x5t)
        .where('at', '>=', new Date(from).toISOString())
        .where('at', '<=', new Date(to).toISOString())
        .groupBy('decision')
        .execute();
      let allowed = 0;
      let denied = 0;
      for (const row of rows) {
        if (row.decision === 'allow') allowed += Number(row.n);
        else denied += Number(row.n);
      }
      return { allowed, denied };
    },
  };
}
