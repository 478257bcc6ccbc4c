// A before/after diff of an event's `changes`, field by field: what was removed, added and changed, readable
// without knowing the JSON. Nested values are compared as canonical-ish JSON text.

type Json = unknown;

const show = (value: Json): string =>
  value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value, null, 1);

function asRecord(value: Json): Record<string, Json> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, Json>)
    : null;
}

export function ChangesDiff({ before, after }: { before?: Json; after?: Json }) {
  if (before === undefined && after === undefined) {
    return <p className="muted">This event records no before/after values.</p>;
  }
  const b = asRecord(before);
  const a = asRecord(after);
  if (!b && !a) {
    // Scalars or arrays: one row.
    return (
      <table className="plain diff" aria-label="Changes">
        <thead>
          <tr>
            <th>Before</th>
            <th>After</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td className="before">{show(before)}</td>
            <td className="after">{show(after)}</td>
          </tr>
        </tbody>
      </table>
    );
  }
  const fields = [...new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])].sort();
  const changed = fields.filter((f) => show(b?.[f]) !== show(a?.[f]));
  return (
    <>
      <p className="muted">
        {changed.length === 0
          ? 'No field changed.'
          : `${changed.length} field${changed.length === 1 ? '' : 's'} changed: ${changed.join(', ')}`}
      </p>
      <table className="plain diff" aria-label="Changes">
        <thead>
          <tr>
            <th>Field</th>
            <th>Before</th>
            <th>After</th>
          </tr>
        </thead>
        <tbody>
          {fields.map((field) => {
            const was = b?.[field];
            const now = a?.[field];
            const same = show(was) === show(now);
            return (
              <tr key={field} className={same ? 'same' : 'changed'} data-field={field}>
                <th scope="row">{field}</th>
                <td className="before">{show(was)}</td>
                <td className="after">{show(now)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
