// A small SVG column chart of counts over time (no chart library: the CSP allows only our own code anyway).

export function ColumnChart({
  points,
  label,
}: {
  points: { start: string; count: number }[];
  label: string;
}) {
  const width = 720;
  const height = 160;
  const pad = 20;
  const max = Math.max(1, ...points.map((p) => p.count));
  const step = points.length > 0 ? (width - pad) / points.length : 0;
  const first = points[0];
  const last = points.at(-1);
  return (
    <svg
      className="chart"
      viewBox={`0 0 ${width} ${height + 16}`}
      role="img"
      aria-label={`${label}: ${points.length} buckets, peak ${max}`}
      style={{ width: '100%', maxHeight: 220 }}
    >
      {points.map((p, i) => {
        const h = (p.count / max) * (height - 10);
        return (
          <rect key={p.start} x={pad + i * step} y={height - h} width={Math.max(1, step - 1)} height={h}>
            <title>{`${new Date(p.start).toLocaleString()}: ${p.count}`}</title>
          </rect>
        );
      })}
      <text x={0} y={10}>
        {max}
      </text>
      <text x={0} y={height}>
        0
      </text>
      {first && (
        <text x={pad} y={height + 14}>
          {new Date(first.start).toLocaleString()}
        </text>
      )}
      {last && (
        <text x={width} y={height + 14} textAnchor="end">
          {new Date(last.start).toLocaleString()}
        </text>
      )}
    </svg>
  );
}

/** A ranked list with proportional bars: "by action", "top actors". */
export function RankedBars({
  entries,
  label,
  onPick,
}: {
  entries: [string, number][];
  label: string;
  onPick?(key: string): void;
}) {
  const max = Math.max(1, ...entries.map(([, n]) => n));
  if (entries.length === 0) return <p className="muted">Nothing in this window yet.</p>;
  return (
    <table className="plain" aria-label={label}>
      <tbody>
        {entries.map(([key, count]) => (
          <tr key={key}>
            <td style={{ width: '50%', overflowWrap: 'anywhere' }}>
              {onPick ? (
                <button type="button" className="link" onClick={() => onPick(key)}>
                  {key}
                </button>
              ) : (
                key
              )}
            </td>
            <td style={{ width: '15%', textAlign: 'right' }}>{count}</td>
            <td style={{ width: '35%', minWidth: 60 }}>
              <div className="bar" style={{ width: `${Math.max(2, (count / max) * 100)}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
