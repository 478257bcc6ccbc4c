// Admin: API keys (a new secret shown once, with a copy button; revoke), local users, the retention policy.
// Everything through the SDK; a credential without `admin` gets a 403 that says so.
import {
  type ApiKey,
  type ApiKeyCreated,
  SCOPES,
  type Scope,
  USER_ROLES,
  type User,
} from '@logbook/protocol';
import { type FormEvent, useState } from 'react';
import { describeError, getRetention, setRetention } from '../api.ts';
import { Empty, ErrorState, Loading } from '../components/states.tsx';
import { useDashboard } from '../context.ts';
import { useAsync } from '../hooks.ts';
import { navigate } from '../router.ts';

const TABS = ['keys', 'users', 'retention'] as const;
type Tab = (typeof TABS)[number];
const TAB_TITLES: Record<Tab, string> = { keys: 'API keys', users: 'Users', retention: 'Retention' };
const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '—');

export function AdminPage({ params }: { params: URLSearchParams }) {
  const tab = (TABS as readonly string[]).includes(params.get('tab') ?? '')
    ? (params.get('tab') as Tab)
    : 'keys';
  return (
    <div className="page">
      <div className="tabs" role="tablist" aria-label="Admin sections">
        {TABS.map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            onClick={() => navigate('admin', { tab: t }, true)}
          >
            {TAB_TITLES[t]}
          </button>
        ))}
      </div>
      {tab === 'keys' && <Keys />}
      {tab === 'users' && <Users />}
      {tab === 'retention' && <RetentionPolicy />}
    </div>
  );
}

function FormError({ error }: { error: unknown }) {
  if (error === undefined) return null;
  const { title, hint } = describeError(error);
  return (
    <p className="notice bad" role="alert">
      {title} {hint}
    </p>
  );
}

function Keys() {
  const { client } = useDashboard();
  const keys = useAsync(() => client.keys.list(), []);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [copied, setCopied] = useState(false);
  const [confirming, setConfirming] = useState<string | null>(null);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const scopes = SCOPES.filter((s) => form.get(`scope-${s}`) === 'on');
    const tenant = String(form.get('tenant') ?? '').trim();
    setError(undefined);
    try {
      const key = await client.keys.create({
        name: String(form.get('name') ?? '').trim(),
        scopes: scopes as Scope[],
        ...(tenant ? { tenant } : {}),
      });
      setCreated(key);
      setCopied(false);
      formElement.reset();
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  const revoke = async (key: ApiKey) => {
    setError(undefined);
    try {
      await client.keys.revoke(key.id);
      setConfirming(null);
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <>
      <section className="card" aria-label="Create an API key">
        <h2>Create an API key</h2>
        <form className="inline" onSubmit={create}>
          <input
            name="name"
            aria-label="Key name"
            placeholder="what it is for, e.g. billing-service"
            required
          />
          {SCOPES.map((s) => (
            <label key={s}>
              <input type="checkbox" name={`scope-${s}`} defaultChecked={s === 'audit:write'} /> {s}
            </label>
          ))}
          <input
            name="tenant"
            aria-label="Tenant (optional)"
            placeholder="tenant (optional)"
            style={{ width: 140 }}
          />
          <button type="submit" className="primary">
            Create key
          </button>
        </form>
        {created && (
          <div role="status" data-testid="new-key">
            <p>
              Key <strong>{created.name}</strong> created. Copy its secret now:{' '}
              <strong>it is shown only once</strong>— Logbook keeps only its hash.
            </p>
            <div className="secret">
              <code data-testid="new-key-secret">{created.key}</code>
              <button
                type="button"
                onClick={async () => {
                  try {
                    await navigator.clipboard.writeText(created.key);
                    setCopied(true);
                  } catch {
                    setError(
                      new Error('The browser refused the clipboard: select the secret and copy it by hand.'),
                    );
                  }
                }}
              >
                {copied ? 'Copied ✔' : 'Copy'}
              </button>
              <button type="button" onClick={() => setCreated(null)}>
                I have stored it
              </button>
            </div>
          </div>
        )}
        <FormError error={error} />
      </section>
      <section className="card" aria-label="API keys" style={{ marginTop: 12 }}>
        <h2>API keys</h2>
        {keys.loading && !keys.data && <Loading what="keys" />}
        {keys.error !== undefined && <ErrorState error={keys.error} retry={keys.reload} />}
        {keys.data && keys.data.length === 0 && <Empty title="No API keys." hint="Create one above." />}
        {keys.data && keys.data.length > 0 && (
          <table className="plain" data-testid="keys-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Prefix</th>
                <th>Scopes</th>
                <th>Tenant</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id} data-key-name={k.name}>
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td>{k.scopes.join(', ')}</td>
                  <td>{k.tenant ?? 'any'}</td>
                  <td>{when(k.createdAt)}</td>
                  <td>{when(k.lastUsedAt)}</td>
                  <td>
                    {k.revokedAt ? (
                      <span className="bad">revoked {when(k.revokedAt)}</span>
                    ) : (
                      <span className="ok">active</span>
                    )}
                  </td>
                  <td>
                    {!k.revokedAt &&
                      (confirming === k.id ? (
                        <>
                          <button type="button" className="danger" onClick={() => revoke(k)}>
                            Confirm revoke
                          </button>{' '}
                          <button type="button" onClick={() => setConfirming(null)}>
                            Cancel
                          </button>
                        </>
                      ) : (
                        <button type="button" className="danger" onClick={() => setConfirming(k.id)}>
                          Revoke
                        </button>
                      ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function Users() {
  const { client } = useDashboard();
  const users = useAsync(() => client.users.list(), []);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | null>(null);

  const create = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    setError(undefined);
    try {
      const user = await client.users.create({
        username: String(form.get('username') ?? '').trim(),
        password: String(form.get('password') ?? ''),
        role: String(form.get('role')) as User['role'],
      });
      setDone(`User ${user.username} created: they can sign in now.`);
      formElement.reset();
      users.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  const toggle = async (user: User) => {
    try {
      await (user.disabledAt ? client.users.enable(user.id) : client.users.disable(user.id));
      users.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <>
      <section className="card" aria-label="Create a user">
        <h2>Create a user</h2>
        <form className="inline" onSubmit={create}>
          <input name="username" aria-label="Username" placeholder="username" required autoComplete="off" />
          <input
            name="password"
            aria-label="Password"
            type="password"
            placeholder="password (8+ characters)"
            required
            minLength={8}
            autoComplete="new-password"
          />
          <select name="role" aria-label="Role" defaultValue="member">
            {USER_ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
          <button type="submit" className="primary">
            Create user
          </button>
        </form>
        {done && <p className="notice ok">{done}</p>}
        <FormError error={error} />
      </section>
      <section className="card" aria-label="Users" style={{ marginTop: 12 }}>
        <h2>Users</h2>
        {users.loading && !users.data && <Loading what="users" />}
        {users.error !== undefined && <ErrorState error={users.error} retry={users.reload} />}
        {users.data && users.data.length === 0 && (
          <Empty title="No local users." hint="Create one above so people can sign in with a password." />
        )}
        {users.data && users.data.length > 0 && (
          <table className="plain" data-testid="users-table">
            <thead>
              <tr>
                <th>Username</th>
                <th>Role</th>
                <th>Scopes</th>
                <th>Tenant</th>
                <th>Last login</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id}>
                  <td>{u.username}</td>
                  <td>{u.role}</td>
                  <td>{u.scopes.join(', ')}</td>
                  <td>{u.tenant ?? 'any'}</td>
                  <td>{when(u.lastLoginAt)}</td>
                  <td>
                    {u.disabledAt ? (
                      <span className="bad">disabled</span>
                    ) : (
                      <span className="ok">active</span>
                    )}
                  </td>
                  <td>
                    <button type="button" onClick={() => toggle(u)}>
                      {u.disabledAt ? 'Enable' : 'Disable'}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function RetentionPolicy() {
  const { client } = useDashboard();
  const policy = useAsync(() => getRetention(client), []);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState(false);

  const save = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const days = Number(new FormData(event.currentTarget).get('days'));
    setError(undefined);
    setSaved(false);
    try {
      await setRetention(client, days);
      setSaved(true);
      policy.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <section className="card" aria-label="Retention">
      <h2>Audit event retention</h2>
      {policy.loading && !policy.data && <Loading what="the policy" />}
      {policy.error !== undefined && <ErrorState error={policy.error} retry={policy.reload} />}
      {policy.data && (
        <>
          <p data-testid="retention-current">
            {policy.data.days === 0
              ? 'Events are kept forever.'
              : `Events older than ${policy.data.days} days are removed by the retention job.`}{' '}
            <span className="muted">
              (
              {policy.data.source === 'default'
                ? 'server default'
                : `set ${when(policy.data.updatedAt)} by ${policy.data.updatedBy ?? '?'}`}
              )
            </span>
          </p>
          <form className="inline" onSubmit={save} key={policy.data.days}>
            <label>
              Keep events for{' '}
              <input
                name="days"
                type="number"
                min={0}
                max={36500}
                defaultValue={policy.data.days}
                style={{ width: 100 }}
                aria-label="Days to keep"
              />{' '}
              days (0 = forever)
            </label>
            <button type="submit" className="primary">
              Save
            </button>
          </form>
          {saved && <p className="notice ok">Saved. The retention job applies it on its next run.</p>}
          <FormError error={error} />
        </>
      )}
    </section>
  );
}
