// The SQLite side of retention policies (one row per tenant and stream). SqliteStore delegates here.
// It only stores the setting: applying a policy is services/retention.ts's work, through redaction.
import type Database from 'better-sqlite3';
import type { RetentionPolicyRecord } from '../store.ts';

interface PolicyRowRaw {
  tenant: string;
  stream: string;
  days: number;
  updated_ms: number;
  updated_by: string;
}

const COLUMNS = 'SELECT tenant, stream, days, updated_ms, updated_by FROM retention_policies';

const policyRow = (raw: PolicyRowRaw): RetentionPolicyRecord => ({
  tenant: raw.tenant,
  stream: raw.stream,
  days: raw.days,
  updatedMs: raw.updated_ms,
  updatedBy: raw.updated_by,
});

export class SqliteRetention {
  constructor(private readonly db: Database.Database) {}

  get(tenant: string, stream: string): RetentionPolicyRecord | null {
    const raw = this.db.prepare(`${COLUMNS} WHERE tenant = ? AND stream = ?`).get(tenant, stream) as
      | PolicyRowRaw
      | undefined;
    return raw ? policyRow(raw) : null;
  }

  list(): RetentionPolicyRecord[] {
    return (this.db.prepare(`${COLUMNS} ORDER BY tenant, stream`).all() as PolicyRowRaw[]).map(policyRow);
  }

  put(policy: RetentionPolicyRecord): void {
    this.db
      .prepare(
        `INSERT INTO retention_policies (tenant, stream, days, updated_ms, updated_by) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant, stream) DO UPDATE
           SET days = excluded.days, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`,
      )
      .run(policy.tenant, policy.stream, policy.days, policy.updatedMs, policy.updatedBy);
  }
}
