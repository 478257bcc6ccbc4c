// Light/dark: follows the system (prefers-color-scheme) until the user picks one with the toggle; the pick is kept
// in localStorage. It only sets data-theme on <html>; the CSS does the rest.

export const THEMES = ['light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];
const KEY = 'logbook.theme';

export function effectiveTheme(): Theme {
  const chosen = localStorage.getItem(KEY);
  if (chosen === 'light' || chosen === 'dark') return chosen;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyStoredTheme(): void {
  const chosen = localStorage.getItem(KEY);
  if (chosen === 'light' || chosen === 'dark') document.documentElement.dataset.theme = chosen;
}

export function setTheme(theme: Theme): void {
  localStorage.setItem(KEY, theme);
  document.documentElement.dataset.theme = theme;
}
