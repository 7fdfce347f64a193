import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.ts';
import { Button } from '../ui.tsx';

interface PageAnswer<T> {
  items: T[];
  next_cursor?: string | null;
}

/**
 * Issue 16: a long admin list read a page at a time (the API answers {items, next_cursor}). The first page
 * loads like useApiData (same {data, error, loading, reload}); `more.load()` appends the next one.
 */
export function usePagedList<T>(path: string, options: { query?: Record<string, string | undefined> } = {}) {
  const [items, setItems] = useState<T[] | undefined>(undefined);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [busy, setBusy] = useState(false);
  const key = `${path}|${JSON.stringify(options.query ?? {})}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for path and query.
  const load = useCallback(
    async (signal?: AbortSignal) => {
      setLoading(true);
      try {
        const page = await api<PageAnswer<T>>(path, { query: options.query, signal });
        setItems(page.items);
        setCursor(page.next_cursor ?? null);
        setError(undefined);
      } catch (err) {
        if ((err as Error).name !== 'AbortError') setError(err);
      } finally {
        setLoading(false);
      }
    },
    [key],
  );
  useEffect(() => {
    const controller = new AbortController();
    void load(controller.signal);
    return () => controller.abort();
  }, [load]);
  const loadMore = async () => {
    if (!cursor) return;
    setBusy(true);
    try {
      const page = await api<PageAnswer<T>>(path, { query: { ...options.query, cursor } });
      setItems((before) => [...(before ?? []), ...page.items]);
      setCursor(page.next_cursor ?? null);
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return {
    data: items === undefined ? undefined : { items },
    error,
    loading,
    reload: () => load(),
    more: { available: cursor !== null, busy, load: loadMore },
  };
}

/** "Load more" under a paged table; nothing once the last page is shown. */
export function LoadMore({
  more,
  what,
}: {
  more: { available: boolean; busy: boolean; load(): Promise<void> };
  what: string;
}) {
  if (!more.available) return null;
  return (
    <div className="actions">
      <Button variant="secondary" onPress={() => void more.load()} isDisabled={more.busy}>
        {more.busy ? 'Loading…' : `Load more ${what}`}
      </Button>
    </div>
  );
}
