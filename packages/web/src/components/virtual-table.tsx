// The virtualised table both the events and logs pages use: only the rows in view are in the DOM, so tens of
// thousands scroll smoothly; reaching the end asks for the next page. Rows are keyboard-usable (arrows, Enter).
// biome-ignore-all lint/a11y/useSemanticElements: virtualised rows are absolutely placed divs (a <table> cannot be); the ARIA grid roles say what they are.
// biome-ignore-all lint/a11y/useFocusableInteractive: in an ARIA grid the rows take focus (tabIndex), not each header or cell.
import { useVirtualizer } from '@tanstack/react-virtual';
import { type KeyboardEvent, type ReactNode, useEffect, useRef } from 'react';

export interface Column<T> {
  title: string;
  width: string;
  render(row: T): ReactNode;
}

interface Props<T> {
  label: string;
  rows: T[];
  columns: Column<T>[];
  rowKey(row: T): string;
  selectedKey?: string | null;
  freshKeys?: ReadonlySet<string>;
  onOpen?(row: T): void;
  /** Called when the last rows come into view and more may exist. */
  onEndReached?(): void;
  hasMore: boolean;
  rowClass?(row: T): string;
}

const ROW_HEIGHT = 32;

export function VirtualTable<T>(props: Props<T>) {
  const { rows, columns, hasMore, onEndReached } = props;
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 20,
  });
  const items = virtualizer.getVirtualItems();
  const last = items.at(-1)?.index ?? -1;
  useEffect(() => {
    if (hasMore && onEndReached && last >= rows.length - 30) onEndReached();
  }, [last, rows.length, hasMore, onEndReached]);

  const template = columns.map((c) => c.width).join(' ');
  const onKey = (event: KeyboardEvent<HTMLDivElement>, index: number) => {
    const row = rows[index];
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      if (row !== undefined) props.onOpen?.(row);
    } else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      const next = Math.max(0, Math.min(rows.length - 1, index + (event.key === 'ArrowDown' ? 1 : -1)));
      virtualizer.scrollToIndex(next);
      requestAnimationFrame(() =>
        scroller.current?.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus(),
      );
    }
  };

  return (
    <div className="table" role="grid" aria-label={props.label} aria-rowcount={rows.length}>
      <div className="head" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((c) => (
          <span role="columnheader" key={c.title}>
            {c.title}
          </span>
        ))}
      </div>
      <div className="body" ref={scroller} data-testid="table-body">
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const row = rows[item.index]!;
            const key = props.rowKey(row);
            const classes = ['row', props.rowClass?.(row) ?? '', props.freshKeys?.has(key) ? 'fresh' : ''];
            return (
              <div
                key={key}
                role="row"
                tabIndex={0}
                data-index={item.index}
                data-key={key}
                aria-selected={props.selectedKey === key}
                className={classes.join(' ')}
                style={{ top: item.start, gridTemplateColumns: template }}
                onClick={() => props.onOpen?.(row)}
                onKeyDown={(event) => onKey(event, item.index)}
              >
                {columns.map((c) => (
                  <span role="gridcell" key={c.title}>
                    {c.render(row)}
                  </span>
                ))}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
