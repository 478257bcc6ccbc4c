// The PostgreSQL side of retention policies (one row per tenant and stream). PostgresStore delegates here.
// It only stores the setting: applying a policy is services/retention.ts's work, through redaction.
import type pg from 'pg';
import type { RetentionPolicyRecord } from '../store.ts';
import { fromPgText, int, toPgText } from './values.ts';

interface PolicyRowRaw {
  tenant: string;
  stream: string;
  days: number;
  updated_ms: string;
  updated_by: string;
}

const COLUMNS = 'SELECT tenant, stream, days, updated_ms, updated_by FROM retention_policies';

const policyRow = (raw: PolicyRowRaw): RetentionPolicyRecord => ({
  tenant: raw.tenant,
  stream: raw.stream,
  days: raw.days,
  updatedMs: int(raw.updated_ms),
  updatedBy: fromPgText(raw.updated_by),
});

export class PostgresRetention {
  constructor(private readonly pool: pg.Pool) {}

  async get(tenant: string, stream: string): Promise<RetentionPolicyRecord | null> {
    const { rows } = await this.pool.query<PolicyRowRaw>(`${COLUMNS} WHERE tenant = $1 AND stream = $2`, [
      tenant,
      stream,
    ]);
    return rows[0] ? policyRow(rows[0]) : null;
  }

  async list(): Promise<RetentionPolicyRecord[]> {
    const { rows } = await this.pool.query<PolicyRowRaw>(`${COLUMNS} ORDER BY tenant, stream`);
    return rows.map(policyRow);
  }

  async put(policy: RetentionPolicyRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO retention_policies (tenant, stream, days, updated_ms, updated_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, stream) DO UPDATE
         SET days = excluded.days, updated_ms = excluded.updated_ms, updated_by = excluded.updated_by`,
      [policy.tenant, policy.stream, policy.days, policy.updatedMs, toPgText(policy.updatedBy)],
    );
  }
}
