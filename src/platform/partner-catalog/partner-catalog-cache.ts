/**
 * The rendered catalog, recomputed only when the active catalog changes: a public listener must not read six
 * tables and render three documents per request. `invalidate` is called on every `catalog.changed` of the
 * change feed (in-process commits and, on PostgreSQL, other processes' too); besides, an entry older than
 * `maxAgeMs` is re-read in the background while it is still served, which covers edits that publish no
 * change (a role's description) within that bound.
 */
export interface RenderCache<T> {
  current(): Promise<T>;
  invalidate(): void;
}

export function createRenderCache<T>(options: {
  load: () => Promise<T>;
  maxAgeMs: number;
  now?: () => number;
  onBackgroundError?: (err: unknown) => void;
}): RenderCache<T> {
  const now = options.now ?? Date.now;
  let generation = 0;
  let entry: { generation: number; at: number; value: T } | undefined;
  let pending: { generation: number; promise: Promise<T> } | undefined;

  const refresh = (): Promise<T> => {
    if (pending && pending.generation === generation) return pending.promise;
    const started = generation;
    const promise = options.load().then((value) => {
      // A change announced while loading may not be in this value: serve it to who waited, keep it not.
      if (started === generation) entry = { generation: started, at: now(), value };
      return value;
    });
    const mine = { generation: started, promise };
    pending = mine;
    const clear = () => {
      if (pending === mine) pending = undefined;
    };
    promise.then(clear, clear);
    return promise;
  };

  return {
    current() {
      if (!entry || entry.generation !== generation) return refresh();
      if (now() - entry.at > options.maxAgeMs) {
        const stale = entry;
        refresh().catch((err: unknown) => {
          // Served as it is until the next try, one maxAge later, rather than on every request.
          stale.at = now();
          options.onBackgroundError?.(err);
        });
      }
      return Promise.resolve(entry.value);
    },
    invalidate() {
      generation += 1;
    },
  };
}
