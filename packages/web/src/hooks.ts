// Data hooks the views share: one async value, an infinitely scrolled list read page by page through the SDK, and a
// live tail that prepends what arrives. They never fetch in parallel for the same list, and drop answers that
// arrive after the filters changed.
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload(): void;
}

export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [version, setVersion] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller lists what `load` depends on.
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, version]);
  return {
    data: state.data,
    error: state.error,
    loading: state.loading,
    reload: () => setVersion((v) => v + 1),
  };
}

export interface PageAnswer<T> {
  data: T[];
  nextCursor: string | null;
  total?: number;
}

export interface InfiniteList<T> {
  rows: T[];
  total: number | undefined;
  loading: boolean;
  error: unknown;
  hasMore: boolean;
  loadMore(): void;
  reload(): void;
  /** Adds rows that arrived live at the top (skipping ones already shown). */
  prepend(rows: T[]): void;
}

export function useInfiniteList<T>(
  fetchPage: (cursor: string | undefined) => Promise<PageAnswer<T>>,
  key: string,
  idOf: (row: T) => string,
): InfiniteList<T> {
  const [rows, setRows] = useState<T[]>([]);
  const [total, setTotal] = useState<number | undefined>();
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [version, setVersion] = useState(0);
  const generation = useRef(0);
  const inFlight = useRef(false);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;

  const load = useCallback((from: string | undefined, gen: number) => {
    if (inFlight.current) return;
    inFlight.current = true;
    setLoading(true);
    fetchRef.current(from).then(
      (page) => {
        inFlight.current = false;
        if (gen !== generation.current) return;
        setRows((old) => (from === undefined ? page.data : [...old, ...page.data]));
        if (page.total !== undefined) setTotal(page.total);
        setCursor(page.nextCursor);
        setLoading(false);
      },
      (failure: unknown) => {
        inFlight.current = false;
        if (gen !== generation.current) return;
        setError(failure);
        setLoading(false);
      },
    );
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` (the filters) and `version` restart the list.
  useEffect(() => {
    generation.current++;
    inFlight.current = false;
    setRows([]);
    setTotal(undefined);
    setCursor(undefined);
    setError(undefined);
    load(undefined, generation.current);
  }, [key, version, load]);

  const loadMore = useCallback(() => {
    if (typeof cursor === 'string' && !error) load(cursor, generation.current);
  }, [cursor, error, load]);

  const prepend = useCallback(
    (fresh: T[]) => {
      setRows((old) => {
        const seen = new Set(old.map(idOf));
        const add = fresh.filter((r) => !seen.has(idOf(r)));
        if (add.length > 0) setTotal((t) => (t === undefined ? t : t + add.length));
        return add.length > 0 ? [...add.reverse(), ...old] : old;
      });
    },
    [idOf],
  );

  return {
    rows,
    total,
    loading,
    error,
    hasMore: typeof cursor === 'string',
    loadMore,
    reload: () => setVersion((v) => v + 1),
    prepend,
  };
}

/**
 * While `enabled`, follows `open(signal)` (an SDK tail) and hands each entry to `onEntry`. Stops on disable,
 * filter change (`key`) or unmount; an error ends the tail and is reported.
 */
export function useLiveTail<T>(
  enabled: boolean,
  key: string,
  open: (signal: AbortSignal) => AsyncGenerator<T>,
  onEntry: (entry: T) => void,
): { error: unknown; connected: boolean } {
  const [error, setError] = useState<unknown>(undefined);
  const [connected, setConnected] = useState(false);
  const openRef = useRef(open);
  openRef.current = open;
  const entryRef = useRef(onEntry);
  entryRef.current = onEntry;
  // biome-ignore lint/correctness/useExhaustiveDependencies: `key` restarts the tail with the new filters.
  useEffect(() => {
    if (!enabled) return;
    const controller = new AbortController();
    setError(undefined);
    setConnected(true);
    (async () => {
      try {
        for await (const entry of openRef.current(controller.signal)) entryRef.current(entry);
      } catch (failure) {
        if (!controller.signal.aborted) setError(failure);
      } finally {
        setConnected(false);
      }
    })();
    return () => controller.abort();
  }, [enabled, key]);
  return { error, connected };
}
