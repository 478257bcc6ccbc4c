// The time-range filter: presets (15 min, 24 h, 7 days, all) or a custom from/to; it writes to the URL.
import { RANGE_LABELS, RANGE_PRESETS, type RangePreset } from '../api.ts';

/** `datetime-local` wants local time without zone. */
const toLocalInput = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

export function RangePicker({
  params,
  onChange,
}: {
  params: URLSearchParams;
  onChange(changes: Record<string, string>): void;
}) {
  const range = (params.get('range') ?? 'all') as RangePreset;
  return (
    <>
      <label>
        Time range
        <select
          name="range"
          value={range}
          onChange={(e) => onChange({ range: e.target.value === 'all' ? '' : e.target.value })}
        >
          {RANGE_PRESETS.map((r) => (
            <option key={r} value={r}>
              {RANGE_LABELS[r]}
            </option>
          ))}
        </select>
      </label>
      {range === 'custom' && (
        <>
          <label>
            From
            <input
              type="datetime-local"
              name="from"
              defaultValue={toLocalInput(params.get('from'))}
              onChange={(e) =>
                onChange({ from: e.target.value ? new Date(e.target.value).toISOString() : '' })
              }
            />
          </label>
          <label>
            To
            <input
              type="datetime-local"
              name="to"
              defaultValue={toLocalInput(params.get('to'))}
              onChange={(e) => onChange({ to: e.target.value ? new Date(e.target.value).toISOString() : '' })}
            />
          </label>
        </>
      )}
    </>
  );
}

/** New URL params: `changes` applied over `params` (empty string removes a key). */
export function withChanges(params: URLSearchParams, changes: Record<string, string>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(changes)) {
    if (value === '') next.delete(key);
    else next.set(key, value);
  }
  return next;
}
