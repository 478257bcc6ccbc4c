// A small client-side router: the page is the path, the filters are the query string (so a view can be shared by
// copying the URL). It never reloads the page.
import { useEffect, useState } from 'react';

export const PAGES = ['events', 'stats', 'logs', 'integrity', 'admin'] as const;
export type Page = (typeof PAGES)[number];

/** Paths of the pages. `/logs` belongs to a compatibility API, so system logs live at `/system-logs`. */
export const PAGE_PATHS: Record<Page, string> = {
  events: '/events',
  stats: '/stats',
  logs: '/system-logs',
  integrity: '/integrity',
  admin: '/admin',
};

export interface Location {
  page: Page;
  params: URLSearchParams;
}

function current(): Location {
  const path = window.location.pathname.replace(/\/+$/, '');
  const page = PAGES.find((p) => PAGE_PATHS[p] === path) ?? 'events';
  return { page, params: new URLSearchParams(window.location.search) };
}

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => {
  for (const listener of listeners) listener();
});

/** Goes to `page` with `params` (a new history entry unless `replace`). */
export function navigate(
  page: Page,
  params: URLSearchParams | Record<string, string> = {},
  replace = false,
): void {
  const search = new URLSearchParams(params instanceof URLSearchParams ? params : Object.entries(params));
  for (const [key, value] of [...search.entries()]) if (value === '') search.delete(key);
  const qs = search.toString();
  const url = `${PAGE_PATHS[page]}${qs ? `?${qs}` : ''}`;
  if (url === `${window.location.pathname}${window.location.search}`) return;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

export function hrefFor(page: Page, params: Record<string, string> = {}): string {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== '')).toString();
  return `${PAGE_PATHS[page]}${qs ? `?${qs}` : ''}`;
}

export function useLocation(): Location {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    const update = () => setLocation(current());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return location;
}
