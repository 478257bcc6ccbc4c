// The shell: sign-in gate, header (pages, who is signed in, theme toggle, sign-out) and the current page.
// A 401 from any call, or the token's expiry time passing, ends the session and shows sign-in with the reason.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { clientFor, loadPinnedKey } from './api.ts';
import { Ctx } from './context.ts';
import { hrefFor, navigate, PAGES, type Page, useLocation } from './router.ts';
import { clearSession, loadSession, type Session, saveSession } from './session.ts';
import { effectiveTheme, setTheme, type Theme } from './theme.ts';
import { AdminPage } from './views/admin.tsx';
import { EventsPage } from './views/events.tsx';
import { IntegrityPage } from './views/integrity.tsx';
import { LogsPage } from './views/logs.tsx';
import { SignIn } from './views/sign-in.tsx';
import { StatsPage } from './views/stats.tsx';

const TITLES: Record<Page, string> = {
  events: 'Audit events',
  stats: 'Stats',
  logs: 'System logs',
  integrity: 'Integrity',
  admin: 'Admin',
};

export function App() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [notice, setNotice] = useState<string | null>(null);
  const [pinVersion, setPinVersion] = useState(0);
  const location = useLocation();

  const signOut = useCallback((reason: string | null) => {
    clearSession();
    setSession(null);
    setNotice(reason);
  }, []);

  const onSignedIn = useCallback((next: Session) => {
    saveSession(next);
    setNotice(null);
    setSession(next);
  }, []);

  // A login token has a known end: sign out right then rather than at the next failing call.
  useEffect(() => {
    if (!session?.expiresAt) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const timer = setTimeout(
      () => signOut('Your session expired. Sign in again to continue.'),
      Math.max(0, Math.min(ms, 2 ** 31 - 1)),
    );
    return () => clearTimeout(timer);
  }, [session, signOut]);

  const onUnauthorized = useCallback(
    () => signOut('Your session has ended (the token expired or the key was revoked). Sign in again.'),
    [signOut],
  );
  // biome-ignore lint/correctness/useExhaustiveDependencies: pinVersion re-creates the client with the new pin.
  const client = useMemo(
    () => (session ? clientFor(session, onUnauthorized, loadPinnedKey()?.note) : null),
    [session, onUnauthorized, pinVersion],
  );

  useEffect(() => {
    document.title = session ? `${TITLES[location.page]} · Logbook` : 'Sign in · Logbook';
  }, [location.page, session]);

  const [theme, setThemeState] = useState<Theme>(effectiveTheme);
  const toggleTheme = () => {
    const next = theme === 'dark' ? 'light' : 'dark';
    setTheme(next);
    setThemeState(next);
  };
  const themeButton = (
    <button
      type="button"
      onClick={toggleTheme}
      aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} mode`}
      data-testid="theme-toggle"
    >
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </button>
  );

  if (!session || !client) {
    return (
      <>
        <div style={{ position: 'absolute', top: 8, right: 12 }}>{themeButton}</div>
        <SignIn notice={notice} onSignedIn={onSignedIn} />
      </>
    );
  }

  const ctx = {
    client,
    session,
    refreshClient: () => setPinVersion((v) => v + 1),
    withPinnedKey: (note: string) => clientFor(session, onUnauthorized, note),
  };
  return (
    <Ctx.Provider value={ctx}>
      <div className="app">
        <header className="top">
          <span className="brand">Logbook</span>
          <nav aria-label="Pages">
            {PAGES.map((page) => (
              <a
                key={page}
                href={hrefFor(page)}
                aria-current={location.page === page ? 'page' : undefined}
                onClick={(event) => {
                  if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
                  event.preventDefault();
                  navigate(page);
                }}
              >
                {TITLES[page]}
              </a>
            ))}
          </nav>
          <span className="who" data-testid="who">
            {session.kind === 'user' ? `Signed in as ${session.label}` : `API key ${session.label}`}
          </span>
          {themeButton}
          <button type="button" onClick={() => signOut('You signed out.')}>
            Sign out
          </button>
        </header>
        <main>
          {location.page === 'events' && <EventsPage params={location.params} />}
          {location.page === 'stats' && <StatsPage params={location.params} />}
          {location.page === 'logs' && <LogsPage params={location.params} />}
          {location.page === 'integrity' && <IntegrityPage />}
          {location.page === 'admin' && <AdminPage params={location.params} />}
        </main>
      </div>
    </Ctx.Provider>
  );
}
