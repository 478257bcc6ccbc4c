// Stats: events over time, by action, by target type, top actors, last 24 h. One SDK call (events.stats).

import { rangeOf } from '../api.ts';
import { ColumnChart, RankedBars } from '../components/chart.tsx';
import { RangePicker, withChanges } from '../components/range-picker.tsx';
import { Empty, ErrorState, Loading } from '../components/states.tsx';
import { useDashboard } from '../context.ts';
import { useAsync } from '../hooks.ts';
import { navigate } from '../router.ts';

const sorted = (record: Record<string, number>) =>
  Object.entries(record)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15);

export function StatsPage({ params }: { params: URLSearchParams }) {
  const { client } = useDashboard();
  const range = params.get('range') ?? '7d';
  const window = rangeOf(new URLSearchParams({ ...Object.fromEntries(params), range }));
  const bucket = range === '15m' || range === '24h' ? 'hour' : range === '7d' ? 'hour' : 'day';
  const stats = useAsync(() => client.events.stats({ ...window, bucket, top: 10 }), [params.toString()]);
  const pickerParams = new URLSearchParams({ ...Object.fromEntries(params), range });

  return (
    <div className="page">
      <div className="filters" style={{ marginBottom: 12 }}>
        <RangePicker
          params={pickerParams}
          onChange={(changes) => navigate('stats', withChanges(pickerParams, changes))}
        />
      </div>
      {stats.loading && !stats.data && <Loading what="stats" />}
      {stats.error !== undefined && <ErrorState error={stats.error} retry={stats.reload} />}
      {stats.data &&
        (stats.data.total === 0 ? (
          <Empty
            title="No audit events yet."
            hint="Stats appear once events are written (POST /api/v1/events)."
          />
        ) : (
          <div className="cards" data-testid="stats">
            <div className="card">
              <h2>All events</h2>
              <div className="big" data-testid="stat-total">
                {stats.data.total.toLocaleString()}
              </div>
            </div>
            <div className="card">
              <h2>Last 24 hours</h2>
              <div className="big" data-testid="stat-24h">
                {stats.data.last24h.toLocaleString()}
              </div>
            </div>
            <div className="card" style={{ gridColumn: '1 / -1' }}>
              <h2>Events over time (per {stats.data.window.bucket})</h2>
              <ColumnChart points={stats.data.histogram} label="Events over time" />
            </div>
            <div className="card">
              <h2>By action</h2>
              <RankedBars
                label="By action"
                entries={sorted(stats.data.byAction)}
                onPick={(action) => navigate('events', { action })}
              />
            </div>
            <div className="card">
              <h2>By target type</h2>
              <RankedBars
                label="By target type"
                entries={sorted(stats.data.byTargetType)}
                onPick={(targetType) => navigate('events', { targetType })}
              />
            </div>
            <div className="card">
              <h2>Top actors</h2>
              <RankedBars
                label="Top actors"
                entries={stats.data.topActors.map((a) => [a.id, a.count])}
                onPick={(actor) => navigate('events', { actor })}
              />
            </div>
          </div>
        ))}
    </div>
  );
}
