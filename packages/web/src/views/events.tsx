// Audit events: filters in the URL, a virtualised table read page by page through the SDK, an optional live tail,
// export of the current filter, and a detail panel (diff, target history, actor trail, proof check).

import type { AuditEvent, EventListQuery } from '@logbook/protocol';
import { EVENT_OUTCOMES } from '@logbook/protocol';
import { type FormEvent, useCallback, useMemo, useState } from 'react';
import { describeError, EXPORT_FORMATS, type ExportFormat, eventQuery, exportEvents } from '../api.ts';
import { ChangesDiff } from '../components/diff.tsx';
import { RangePicker, withChanges } from '../components/range-picker.tsx';
import { Empty, ErrorState, Loading } from '../components/states.tsx';
import { VerifyEvent } from '../components/verify.tsx';
import { type Column, VirtualTable } from '../components/virtual-table.tsx';
import { useDashboard } from '../context.ts';
import { useAsync, useInfiniteList, useLiveTail } from '../hooks.ts';
import { navigate } from '../router.ts';

const PAGE_SIZE = 500;
const time = (iso: string) => new Date(iso).toLocaleString();
const idOf = (e: AuditEvent) => e.id;

const COLUMNS: Column<AuditEvent>[] = [
  { title: 'Time', width: '180px', render: (e) => <time dateTime={e.occurredAt}>{time(e.occurredAt)}</time> },
  { title: 'Action', width: 'minmax(110px, 1fr)', render: (e) => e.action },
  { title: 'Actor', width: 'minmax(110px, 1fr)', render: (e) => e.actor.name ?? e.actor.id },
  {
    title: 'Target',
    width: 'minmax(120px, 1.2fr)',
    render: (e) => [e.target?.type, e.target?.name ?? e.target?.id].filter(Boolean).join(' · ') || '—',
  },
  {
    title: 'Outcome',
    width: '80px',
    render: (e) => <span className={e.outcome === 'failure' ? 'bad' : 'ok'}>{e.outcome}</span>,
  },
  { title: 'Description', width: 'minmax(160px, 2fr)', render: (e) => e.description ?? '' },
];

const TEXT_FILTERS = [
  { name: 'q', label: 'Search text', wide: true },
  { name: 'actor', label: 'Actor id' },
  { name: 'action', label: 'Action' },
  { name: 'targetType', label: 'Target type' },
  { name: 'targetId', label: 'Target id' },
] as const;

export function EventsPage({ params }: { params: URLSearchParams }) {
  const { client } = useDashboard();
  const query = useMemo(() => eventQuery(params), [params]);
  const key = JSON.stringify({ ...query, from: params.get('range') ?? params.get('from') });
  const [live, setLive] = useState(false);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const selectedId = params.get('event');

  const list = useInfiniteList<AuditEvent>(
    (cursor) =>
      client.events.page({
        ...query,
        limit: PAGE_SIZE,
        ...(cursor ? { cursor } : { includeTotal: true }),
      }),
    key,
    idOf,
  );

  const { prepend } = list;
  const onLive = useCallback(
    (event: AuditEvent) => {
      prepend([event]);
      setFresh((old) => new Set(old).add(event.id));
    },
    [prepend],
  );
  const tail = useLiveTail(
    live,
    key,
    (signal) => {
      const { from: _from, to: _to, ...filters } = query;
      return client.events.tail(filters, { signal });
    },
    onLive,
  );

  const set = (changes: Record<string, string>, replace = false) =>
    navigate('events', withChanges(params, { ...changes }), replace);
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const changes: Record<string, string> = { event: '' };
    for (const f of TEXT_FILTERS) changes[f.name] = String(form.get(f.name) ?? '').trim();
    set(changes);
  };
  const activeFilters =
    TEXT_FILTERS.some((f) => params.get(f.name)) || params.get('outcome') || params.get('range');

  const selected = list.rows.find((e) => e.id === selectedId);
  const heading = params.get('targetId')
    ? `History of ${params.get('targetType') ?? 'target'} ${params.get('targetId')}`
    : params.get('actor')
      ? `Trail of actor ${params.get('actor')}`
      : null;

  return (
    <div className="split">
      <section className="list" aria-label="Audit events">
        <form className="filters" onSubmit={submit} key={params.toString()} aria-label="Filters">
          {TEXT_FILTERS.map((f) => (
            <label key={f.name}>
              {f.label}
              <input
                name={f.name}
                defaultValue={params.get(f.name) ?? ''}
                className={'wide' in f ? 'wide' : ''}
                type={f.name === 'q' ? 'search' : 'text'}
              />
            </label>
          ))}
          <label>
            Outcome
            <select
              name="outcome"
              value={params.get('outcome') ?? ''}
              onChange={(e) => set({ outcome: e.target.value })}
            >
              <option value="">Any</option>
              {EVENT_OUTCOMES.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </label>
          <RangePicker params={params} onChange={(changes) => set(changes)} />
          <button type="submit" className="primary">
            Apply
          </button>
          {activeFilters && (
            <button type="button" onClick={() => navigate('events')}>
              Clear
            </button>
          )}
        </form>
        <div className="toolbar">
          {heading && <strong data-testid="list-heading">{heading}</strong>}
          <span data-testid="event-count">
            {list.total !== undefined
              ? `${list.total.toLocaleString()} event${list.total === 1 ? '' : 's'}`
              : list.loading
                ? 'Counting…'
                : ''}
            {list.rows.length > 0 && list.total !== undefined && list.rows.length < list.total
              ? ` (${list.rows.length.toLocaleString()} loaded — scroll for more)`
              : ''}
          </span>
          <span className="spacer" />
          <label>
            <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> Live
            {live && tail.connected && <span className="ok"> ●</span>}
          </label>
          <ExportButtons query={query} />
        </div>
        {tail.error !== undefined && <ErrorState error={tail.error} retry={() => setLive(false)} />}
        {list.error !== undefined && list.rows.length === 0 ? (
          <ErrorState error={list.error} retry={list.reload} />
        ) : list.rows.length === 0 && list.loading ? (
          <Loading what="events" />
        ) : list.rows.length === 0 ? (
          <Empty
            title={activeFilters ? 'No event matches these filters.' : 'No audit events yet.'}
            hint={
              activeFilters
                ? 'Widen the time range or clear a filter.'
                : 'Send one with POST /api/v1/events (see the README), or turn on Live to watch them arrive.'
            }
          />
        ) : (
          <VirtualTable
            label="Audit events"
            rows={list.rows}
            columns={COLUMNS}
            rowKey={idOf}
            selectedKey={selectedId}
            freshKeys={fresh}
            hasMore={list.hasMore}
            onEndReached={list.loadMore}
            onOpen={(e) => set({ event: e.id }, true)}
          />
        )}
      </section>
      {selectedId && (
        <EventDetail id={selectedId} known={selected} onClose={() => set({ event: '' }, true)} />
      )}
    </div>
  );
}

function ExportButtons({ query }: { query: EventListQuery }) {
  const { client } = useDashboard();
  const [progress, setProgress] = useState<string | null>(null);
  const run = async (format: ExportFormat) => {
    setProgress('Exporting…');
    try {
      const { blob, rows, truncated } = await exportEvents(client, query, format, (n) =>
        setProgress(`Exporting… ${n.toLocaleString()} rows`),
      );
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `logbook-events-${new Date().toISOString().slice(0, 19).replaceAll(':', '')}.${format}`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setProgress(
        `Exported ${rows.toLocaleString()} rows${truncated ? ' (stopped at the browser limit: use `logbook export` for more)' : ''}`,
      );
    } catch (error) {
      setProgress(`Export failed: ${describeError(error).title}`);
    }
  };
  return (
    <>
      {EXPORT_FORMATS.map((f) => (
        <button key={f} type="button" onClick={() => run(f)}>
          Export {f.toUpperCase()}
        </button>
      ))}
      {progress && (
        <span role="status" data-testid="export-status">
          {progress}
        </span>
      )}
    </>
  );
}

function EventDetail({ id, known, onClose }: { id: string; known: AuditEvent | undefined; onClose(): void }) {
  const { client } = useDashboard();
  const loaded = useAsync(
    () => (known ? Promise.resolve(known) : client.events.get(id)),
    [id, known === undefined],
  );
  const event = known ?? loaded.data;
  return (
    <aside aria-label="Event detail" data-testid="event-detail">
      <div className="toolbar">
        <h2 style={{ margin: 0, fontSize: 16 }}>Event</h2>
        <span className="spacer" />
        <button type="button" onClick={onClose} aria-label="Close detail">
          ✕ Close
        </button>
      </div>
      {!event && loaded.loading && <Loading what="the event" />}
      {!event && loaded.error !== undefined && <ErrorState error={loaded.error} retry={loaded.reload} />}
      {event && (
        <>
          <p>
            <strong>{event.actor.name ?? event.actor.id}</strong> did <strong>{event.action}</strong>
            {event.target ? (
              <>
                {' '}
                on{' '}
                <strong>
                  {[event.target.type, event.target.name ?? event.target.id].filter(Boolean).join(' ')}
                </strong>
              </>
            ) : null}{' '}
            at <time dateTime={event.occurredAt}>{time(event.occurredAt)}</time> —{' '}
            <span className={event.outcome === 'failure' ? 'bad' : 'ok'}>{event.outcome}</span>
          </p>
          {event.description && <p>{event.description}</p>}
          <h3>Changes</h3>
          <ChangesDiff before={event.changes?.before} after={event.changes?.after} />
          <h3>Who and what</h3>
          <dl className="kv">
            <dt>Actor</dt>
            <dd>
              <button
                type="button"
                className="link"
                onClick={() => navigate('events', { actor: event.actor.id, event: event.id })}
              >
                {event.actor.id}
              </button>{' '}
              {event.actor.type && <span className="muted">({event.actor.type})</span>}{' '}
              {event.actor.email && <span className="muted">{event.actor.email}</span>} — see their whole
              trail
            </dd>
            <dt>Target</dt>
            <dd>
              {event.target?.id ? (
                <>
                  <button
                    type="button"
                    className="link"
                    onClick={() =>
                      navigate('events', {
                        targetType: event.target?.type ?? '',
                        targetId: event.target?.id ?? '',
                        event: event.id,
                      })
                    }
                  >
                    {event.target.type ?? ''} {event.target.id}
                  </button>{' '}
                  — see its whole history
                </>
              ) : (
                (event.target?.type ?? '—')
              )}
            </dd>
            <dt>Occurred</dt>
            <dd>{event.occurredAt}</dd>
            <dt>Received</dt>
            <dd>{event.receivedAt}</dd>
            {event.context?.ip && (
              <>
                <dt>IP</dt>
                <dd>{event.context.ip}</dd>
              </>
            )}
            {event.context?.userAgent && (
              <>
                <dt>User agent</dt>
                <dd>{event.context.userAgent}</dd>
              </>
            )}
            <dt>Tenant · seq</dt>
            <dd>
              {event.tenant} · {event.seq}
            </dd>
            <dt>Id</dt>
            <dd className="mono">{event.id}</dd>
            <dt>Leaf hash</dt>
            <dd className="mono">{event.hash}</dd>
          </dl>
          <h3>Integrity</h3>
          <VerifyEvent id={event.id} key={event.id} />
          {event.details && Object.keys(event.details).length > 0 && (
            <>
              <h3>Details</h3>
              <pre>{JSON.stringify(event.details, null, 2)}</pre>
            </>
          )}
        </>
      )}
    </aside>
  );
}
