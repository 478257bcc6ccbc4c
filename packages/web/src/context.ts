// What every view needs: the SDK client of this session, and the session itself.
import { createContext, useContext } from 'react';
import type { Client } from './api.ts';
import type { Session } from './session.ts';

export interface DashboardContext {
  client: Client;
  session: Session;
  /** Re-creates the client (after the pinned key changed). */
  refreshClient(): void;
  /** A client of this session that verifies against the given pinned key (C2SP verifier key string). */
  withPinnedKey(note: string): Client;
}

export const Ctx = createContext<DashboardContext | null>(null);

export function useDashboard(): DashboardContext {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error('useDashboard outside the signed-in app');
  return ctx;
}
