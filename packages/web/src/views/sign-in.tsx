// Sign-in: a local user (POST /api/v1/auth/login through the SDK) or an API key pasted once. The password is sent
// once and never stored; the key or token goes to sessionStorage only.
import { LogbookApiError } from '@logbook/sdk';
import { type FormEvent, useState } from 'react';
import { anonymousClient, clientFor, describeError } from '../api.ts';
import type { Session } from '../session.ts';

const MODES = ['user', 'key'] as const;
type Mode = (typeof MODES)[number];

export function SignIn({
  notice,
  onSignedIn,
}: {
  notice: string | null;
  onSignedIn(session: Session): void;
}) {
  const [mode, setMode] = useState<Mode>('user');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setBusy(true);
    setError(null);
    try {
      if (mode === 'user') {
        const username = String(form.get('username') ?? '').trim();
        const answer = await anonymousClient().auth.login(username, String(form.get('password') ?? ''));
        onSignedIn({
          kind: 'user',
          token: answer.token,
          label: answer.user.username,
          expiresAt: answer.expiresAt,
        });
      } else {
        const key = String(form.get('apiKey') ?? '').trim();
        if (!key) throw new Error('Paste an API key first.');
        const session: Session = { kind: 'key', token: key, label: `${key.slice(0, 10)}…`, expiresAt: null };
        // Try it once: 401 means the key is wrong; 403 only that it cannot read events (it may still do other things).
        try {
          await clientFor(session, () => {}).events.page({ limit: 1 });
        } catch (probe) {
          if (!(probe instanceof LogbookApiError && probe.status === 403)) throw probe;
        }
        onSignedIn(session);
      }
    } catch (failure) {
      if (failure instanceof LogbookApiError && failure.status === 401) {
        setError(
          mode === 'user'
            ? 'Wrong username or password.'
            : 'The server does not accept this key (wrong, revoked or expired). Check it and paste it again.',
        );
      } else {
        const { title, hint } = describeError(failure);
        setError(`${title} ${hint}`);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <h1 style={{ marginTop: 0 }}>Sign in to Logbook</h1>
      {notice && (
        <p className="notice warn" role="status" data-testid="signin-notice">
          {notice}
        </p>
      )}
      <div className="tabs" role="tablist" aria-label="How to sign in">
        {MODES.map((m) => (
          <button
            key={m}
            type="button"
            role="tab"
            aria-selected={mode === m}
            onClick={() => {
              setMode(m);
              setError(null);
            }}
          >
            {m === 'user' ? 'Username and password' : 'API key'}
          </button>
        ))}
      </div>
      <form onSubmit={submit} aria-label="Sign in">
        {mode === 'user' ? (
          <>
            <label>
              Username
              <input name="username" autoComplete="username" required />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" required />
            </label>
          </>
        ) : (
          <label>
            API key
            <input name="apiKey" type="password" autoComplete="off" required placeholder="lbk_…" />
            <span className="muted" style={{ fontSize: 12 }}>
              The admin key printed when Logbook first started, or one created under Admin. It stays in this
              tab only.
            </span>
          </label>
        )}
        {error && (
          <p className="notice bad" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
