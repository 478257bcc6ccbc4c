// System logs: the same virtualised table with level colours, level/service/text filters in the URL, and a live
// tail (SSE through the SDK) that prepends entries as they arrive.
import { LOG_LEVELS, type LogEntry } from '@logbook/protocol';
import { type FormEvent, useCallback, useMemo, useState } from 'react';
import { logQuery } from '../api.ts';
import { RangePicker, withChanges } from '../components/range-picker.tsx';
import { Empty, ErrorState, Loading } from '../components/states.tsx';
import { type Column, VirtualTable } from '../components/virtual-table.tsx';
import { useDashboard } from '../context.ts';
import { useInfiniteList, useLiveTail } from '../hooks.ts';
import { navigate } from '../router.ts';

const idOf = (e: LogEntry) => e.id;
const COLUMNS: Column<LogEntry>[] = [
  {
    title: 'Time',
    width: '180px',
    render: (e) => <time dateTime={e.timestamp}>{new Date(e.timestamp).toLocaleString()}</time>,
  },
  { title: 'Level', width: '70px', render: (e) => <span className={`lv-${e.level}`}>{e.level}</span> },
  { title: 'Service', width: 'minmax(100px, 1fr)', render: (e) => e.service },
  { title: 'Message', width: 'minmax(200px, 4fr)', render: (e) => e.message },
];

export function LogsPage({ params }: { params: URLSearchParams }) {
  const { client } = useDashboard();
  const query = useMemo(() => logQuery(params), [params]);
  const key = JSON.stringify({ ...query, from: params.get('range') ?? params.get('from') });
  const live = params.get('live') === '1';
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<LogEntry | null>(null);

  const list = useInfiniteList<LogEntry>(
    (cursor) => client.logs.page({ ...query, limit: 500, ...(cursor ? { cursor } : {}) }),
    key,
    idOf,
  );
  const { prepend } = list;
  const onLive = useCallback(
    (entry: LogEntry) => {
      const { tailId: _tailId, ...plain } = entry as LogEntry & { tailId?: string };
      prepend([plain]);
      setFresh((old) => new Set(old).add(entry.id));
    },
    [prepend],
  );
  const tail = useLiveTail(
    live,
    key,
    (signal) => {
      const { from: _from, to: _to, ...filters } = query;
      return client.logs.tail(filters, { signal });
    },
    onLive,
  );

  const set = (changes: Record<string, string>) => navigate('logs', withChanges(params, changes), true);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    set({ q: String(form.get('q') ?? '').trim(), service: String(form.get('service') ?? '').trim() });
  };
  const filtered = ['q', 'service', 'minLevel', 'range'].some((k) => params.get(k));

  return (
    <div className="split">
      <section className="list" aria-label="System logs">
        <form className="filters" onSubmit={submit} key={params.toString()} aria-label="Filters">
          <label>
            Search text
            <input name="q" type="search" className="wide" defaultValue={params.get('q') ?? ''} />
          </label>
          <label>
            Services (comma-separated)
            <input name="service" defaultValue={params.get('service') ?? ''} />
          </label>
          <label>
            Level at least
            <select value={params.get('minLevel') ?? ''} onChange={(e) => set({ minLevel: e.target.value })}>
              <option value="">Any</option>
              {LOG_LEVELS.map((l) => (
                <option key={l} value={l}>
                  {l}
                </option>
              ))}
            </select>
          </label>
          <RangePicker params={params} onChange={set} />
          <button type="submit" className="primary">
            Apply
          </button>
        </form>
        <div className="toolbar">
          <span>
            {list.rows.length.toLocaleString()} entries loaded{list.hasMore ? ' — scroll for more' : ''}
          </span>
          <span className="spacer" />
          <label>
            <input
              type="checkbox"
              data-testid="live-tail"
              checked={live}
              onChange={(e) => set({ live: e.target.checked ? '1' : '' })}
            />{' '}
            Live tail {live && (tail.connected ? <span className="ok">● streaming</span> : <span>…</span>)}
          </label>
        </div>
        {tail.error !== undefined && <ErrorState error={tail.error} retry={() => set({ live: '' })} />}
        {list.error !== undefined && list.rows.length === 0 ? (
          <ErrorState error={list.error} retry={list.reload} />
        ) : list.rows.length === 0 && list.loading ? (
          <Loading what="logs" />
        ) : list.rows.length === 0 ? (
          <Empty
            title={filtered ? 'No log entry matches these filters.' : 'No system logs yet.'}
            hint={
              live
                ? 'Live tail is on: new entries will appear here as they arrive.'
                : 'Send some with POST /api/v1/logs or OTLP (see the README), or turn on Live tail.'
            }
          />
        ) : (
          <VirtualTable
            label="System logs"
            rows={list.rows}
            columns={COLUMNS}
            rowKey={idOf}
            freshKeys={fresh}
            selectedKey={open?.id ?? null}
            hasMore={list.hasMore}
            onEndReached={list.loadMore}
            onOpen={(entry: LogEntry) => setOpen(entry)}
            rowClass={(e) => `level-${e.level}`}
          />
        )}
      </section>
      {open && (
        <aside aria-label="Log entry" data-testid="log-detail">
          <div className="toolbar">
            <h2 style={{ margin: 0, fontSize: 16 }}>Log entry</h2>
            <span className="spacer" />
            <button type="button" onClick={() => setOpen(null)}>
              ✕ Close
            </button>
          </div>
          <p className={`lv-${open.level}`}>{open.level}</p>
          <pre>{open.message}</pre>
          <dl className="kv">
            <dt>Service</dt>
            <dd>
              <button type="button" className="link" onClick={() => set({ service: open.service })}>
                {open.service}
              </button>
            </dd>
            <dt>Time</dt>
            <dd>{open.timestamp}</dd>
            {open.host && (
              <>
                <dt>Host</dt>
                <dd>{open.host}</dd>
              </>
            )}
            {open.traceId && (
              <>
                <dt>Trace</dt>
                <dd className="mono">{open.traceId}</dd>
              </>
            )}
            <dt>Id</dt>
            <dd className="mono">{open.id}</dd>
          </dl>
          {open.details && <pre>{JSON.stringify(open.details, null, 2)}</pre>}
        </aside>
      )}
    </div>
  );
}
