// Crash safety: a real `logbook serve` is killed with SIGKILL again and again while several clients ingest
// concurrently (single events and batches, client ids and server ids, two tenants), then restarted on the same
// storage. Every acknowledged event must be stored exactly once with the seq and hash it was acknowledged with, the
// seqs must stay gap-free, and the real `logbook verify` must exit 0 after every crash. Both backends.
// LOGBOOK_CRASH_CYCLES raises the number of kills for a longer local run (default 5 per backend: ~1 min each on a quiet 2-core machine).
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../packages/server/test/support-backends.ts';
import { postEvents, readAll, type ServeProcess, Storage, sleep } from './support-serve.ts';

const CYCLES = Number(process.env.LOGBOOK_CRASH_CYCLES ?? 5);
const TENANTS = ['default', 'crash-b'] as const;
/** Acknowledged events each tenant must get in every cycle before the kill, so each log is written under load. */
const MIN_ACKED_PER_TENANT = 10;

interface Ack {
  id: string;
  seq: number;
  hash: string;
  duplicate?: boolean;
}

/** One writer's plan: how it names events, how many per request, which tenant. */
interface WriterPlan {
  clientIds: boolean;
  batch: number;
  tenant: (typeof TENANTS)[number];
}

const PLANS: WriterPlan[] = [
  { clientIds: true, batch: 1, tenant: 'default' },
  { clientIds: true, batch: 1, tenant: 'crash-b' },
  { clientIds: true, batch: 20, tenant: 'default' },
  { clientIds: false, batch: 1, tenant: 'default' },
  { clientIds: false, batch: 1, tenant: 'crash-b' },
  { clientIds: false, batch: 20, tenant: 'default' },
];

// One backend after the other: side by side they only compete for the two cores and each cycle gets slower.
describe('crash safety', () => {
  it.each(BACKENDS)(
    `on %s: every acknowledged event survives ${CYCLES} SIGKILLs during concurrent ingest, exactly once; verify passes`,
    async (backend) => {
      const storage = await Storage.create(backend);
      let server: ServeProcess | null = null;
      try {
        /** Acknowledged events by tenant and id. */
        const acked = new Map<string, Ack & { tenant: string }>();
        /** Requests with client ids that were sent but never answered (cut by a kill): retried after the restart. */
        let uncertain: { tenant: string; body: { events: Record<string, unknown>[] } }[] = [];
        let unexpected: string[] = [];
        let requestsCut = 0;
        const record = (tenant: string, acks: Ack[]) => {
          for (const a of acks) {
            const key = `${tenant}/${a.id}`;
            const before = acked.get(key);
            // An id acknowledged twice (a retried client id) must keep its seq and hash.
            if (before) expect({ seq: a.seq, hash: a.hash }).toEqual({ seq: before.seq, hash: before.hash });
            else acked.set(key, { ...a, tenant });
          }
        };

        for (let cycle = 0; cycle <= CYCLES; cycle++) {
          // The independent verifier runs on the storage the last crash left behind (a SQLite WAL with no clean close,
          // PostgreSQL sessions aborted mid-transaction) while the restart recovers it: both at once, as in real life.
          const [started, verify] = await Promise.all([
            storage.start({ LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '1' }),
            cycle > 0 ? storage.verify() : null,
          ]);
          server = started;
          if (verify) expect(verify.status, `verify after crash ${cycle}: ${verify.output}`).toBe(0);
          const url = server.url;
          // Unanswered client-id requests are retried first: each is stored once, whether or not it had committed.
          for (const u of uncertain) {
            const res = await postEvents(url, u.body);
            expect(res.status, await res.clone().text()).toBe(201);
            record(u.tenant, ((await res.json()) as { events: Ack[] }).events);
          }
          uncertain = [];
          if (cycle === CYCLES) break;

          let stopping = false;
          let ackedThisCycle = 0;
          // Per tenant too: on a loaded machine one writer can lag, and each tenant's log must be exercised every cycle.
          const ackedByTenant = new Map<string, number>();
          const writer = async (plan: WriterPlan, w: number) => {
            for (let n = 0; !stopping; n++) {
              const events = Array.from({ length: plan.batch }, (_, j) => ({
                ...(plan.clientIds ? { id: `c${cycle}-w${w}-${n}-${j}` } : {}),
                tenant: plan.tenant,
                action: j % 2 ? 'invoice.pay' : 'user.login',
                actor: { id: `actor-${w}` },
                target: { type: 'invoice', id: `inv-${cycle}-${w}-${n}-${j}` },
                details: { cycle, writer: w, n, j },
              }));
              const body = { events };
              let res: Response;
              try {
                res = await postEvents(url, body);
              } catch {
                // The connection was cut by the kill: the outcome is unknown.
                requestsCut++;
                if (plan.clientIds) uncertain.push({ tenant: plan.tenant, body });
                return;
              }
              if (res.status === 201) {
                const acks = ((await res.json()) as { events: Ack[] }).events;
                record(plan.tenant, acks);
                ackedThisCycle += acks.length;
                ackedByTenant.set(plan.tenant, (ackedByTenant.get(plan.tenant) ?? 0) + acks.length);
              } else {
                unexpected.push(`${res.status} ${await res.text()}`);
                return;
              }
            }
          };
          const writers = PLANS.map((plan, w) => writer(plan, w));
          // Kill at a random moment once the load is flowing, so the kill lands in different phases of a commit.
          while (
            unexpected.length === 0 &&
            (ackedThisCycle < 50 || TENANTS.some((t) => (ackedByTenant.get(t) ?? 0) < MIN_ACKED_PER_TENANT))
          )
            await sleep(5);
          await sleep(100 + Math.floor(Math.random() * 900));
          await server.kill();
          stopping = true;
          await Promise.all(writers);
          server = null;
          expect(unexpected, 'only 201s before the kill').toEqual([]);
          unexpected = [];
        }

        // Read back every tenant: exactly the acknowledged events (plus any unacknowledged server-id event that happened
        // to commit before a kill), each once, with the acknowledged seq and hash, and no hole in the seqs.
        for (const tenant of TENANTS) {
          const stored = await readAll(server!.url, tenant);
          const byId = new Map(stored.map((e) => [e.id, e]));
          expect(byId.size, `ids are unique in ${tenant}`).toBe(stored.length);
          expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));
          const mine = [...acked.values()].filter((a) => a.tenant === tenant);
          const lost = mine.filter((a) => byId.get(a.id)?.hash !== a.hash || byId.get(a.id)?.seq !== a.seq);
          expect(
            lost.map((a) => a.id),
            `acknowledged events lost or changed in ${tenant}`,
          ).toEqual([]);
          expect(mine.length).toBeGreaterThanOrEqual(CYCLES * MIN_ACKED_PER_TENANT);
        }
        await server!.stop();
        server = null;
        const verify = await storage.verify();
        expect(verify.status, verify.output).toBe(0);
        const report = JSON.parse(verify.output) as { events: number };
        expect(report.events).toBeGreaterThanOrEqual(acked.size);
        console.info(
          `crash-safety ${backend}: ${CYCLES} SIGKILL cycles, ${acked.size} acknowledged events, ` +
            `${requestsCut} requests cut in flight, ${report.events} events verified`,
        );
      } finally {
        await server?.kill();
        await storage.cleanup();
      }
    },
    60_000 + CYCLES * 40_000,
  );
});
