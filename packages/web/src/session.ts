// The signed-in credential: a login token or a pasted API key, kept in sessionStorage (gone when the tab closes) and
// never in localStorage or a cookie. It never holds a password.

export const SESSION_KINDS = ['user', 'key'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

export interface Session {
  kind: SessionKind;
  /** Sent as "Authorization: Bearer …". */
  token: string;
  /** Who is signed in, as shown in the header (username, or the key's first characters). */
  label: string;
  /** When a login token stops working (ISO); keys have none the dashboard knows of. */
  expiresAt: string | null;
}

const KEY = 'logbook.session';

export function loadSession(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const session = JSON.parse(raw) as Session;
    if (!session.token || !(SESSION_KINDS as readonly string[]).includes(session.kind)) return null;
    if (isExpired(session)) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return session;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

export function isExpired(session: Session, now = Date.now()): boolean {
  return session.expiresAt !== null && Date.parse(session.expiresAt) <= now;
}
