// Integrity use cases: signed checkpoints (made on demand, by the checkpointer job and at shutdown, and pushed to
// witnesses), inclusion and consistency proofs, the public key. It never signs a root it did not compute from the store.
import {
  type CheckpointResponse,
  type ConsistencyProofQuery,
  type ConsistencyProofResponse,
  compactRangeNodeIds,
  consistencyProofPlan,
  DEFAULT_TENANT,
  formatCheckpoint,
  type InclusionProofQuery,
  type InclusionProofResponse,
  inclusionProofPlan,
  LogbookError,
  materializeProof,
  nodeKey,
  type ProofPlan,
  type PublicKeyResponse,
  rootOf,
  type SigningKey,
  signNote,
  toBase64,
  verifierKeyString,
} from '@logbook/protocol';
import { type Principal, tenantFor } from '../auth/principal.ts';
import { toIso } from '../domain/time.ts';
import type { Store, StoredCheckpoint } from '../store/store.ts';

/** Somewhere outside the database that keeps a copy of every checkpoint, so truncation is detectable. */
export interface Witness {
  readonly name: string;
  publish(checkpoint: StoredCheckpoint): Promise<void>;
}

export interface IntegrityOptions {
  signer: SigningKey;
  witnesses?: Witness[];
  clock?: () => number;
  /** Where witness failures are reported (they never fail a checkpoint). */
  onWitnessError?: (witness: string, error: unknown) => void;
}

export function checkpointOrigin(keyName: string, tenant: string): string {
  return `${keyName}/${tenant}`;
}

function checkpointResponse(checkpoint: StoredCheckpoint): CheckpointResponse {
  return {
    tenant: checkpoint.tenant,
    treeSize: checkpoint.treeSize,
    rootHash: toBase64(checkpoint.rootHash),
    timestamp: toIso(checkpoint.createdMs),
    note: checkpoint.note,
  };
}

export class IntegrityService {
  private readonly signer: SigningKey;
  private readonly witnesses: Witness[];
  private readonly clock: () => number;
  private readonly onWitnessError: (witness: string, error: unknown) => void;

  constructor(
    private readonly store: Store,
    options: IntegrityOptions,
  ) {
    this.signer = options.signer;
    this.witnesses = options.witnesses ?? [];
    this.clock = options.clock ?? Date.now;
    this.onWitnessError = options.onWitnessError ?? (() => {});
  }

  publicKey(): PublicKeyResponse {
    return {
      keyName: this.signer.name,
      publicKey: toBase64(this.signer.publicKey),
      note: verifierKeyString(this.signer.name, this.signer.publicKey),
    };
  }

  /**
   * Signs the tenant's current tree head unless the latest checkpoint already covers it. Returns the latest
   * checkpoint (null for an empty log). Safe to call concurrently: equal sizes give identical notes.
   */
  async checkpoint(tenant: string): Promise<StoredCheckpoint | null> {
    const [head, latest] = await Promise.all([
      this.store.getTreeHead(tenant),
      this.store.getCheckpoint(tenant),
    ]);
    if (head.range.size === 0) return latest;
    if (latest && latest.treeSize >= head.range.size) return latest;
    const rootHash = rootOf(head.range);
    const text = formatCheckpoint({
      origin: checkpointOrigin(this.signer.name, tenant),
      treeSize: head.range.size,
      rootHash,
    });
    const checkpoint: StoredCheckpoint = {
      tenant,
      treeSize: head.range.size,
      rootHash,
      createdMs: this.clock(),
      note: signNote(text, this.signer),
    };
    await this.store.saveCheckpoint(checkpoint);
    await Promise.all(
      this.witnesses.map((w) =>
        w.publish(checkpoint).catch((error: unknown) => this.onWitnessError(w.name, error)),
      ),
    );
    return checkpoint;
  }

  /** Checkpoints every tenant log that grew; returns how many new checkpoints were made. */
  async checkpointAll(): Promise<number> {
    let made = 0;
    for (const { tenant, size } of await this.store.listTenantLogs()) {
      const latest = await this.store.getCheckpoint(tenant);
      if (size > (latest?.treeSize ?? 0)) {
        await this.checkpoint(tenant);
        made += 1;
      }
    }
    return made;
  }

  async createCheckpoint(
    principal: Principal,
    requestedTenant: string | undefined,
  ): Promise<CheckpointResponse> {
    const tenant = tenantFor(principal, requestedTenant, DEFAULT_TENANT);
    const checkpoint = await this.checkpoint(tenant);
    if (!checkpoint)
      throw new LogbookError(
        'NOT_FOUND',
        `Tenant "${tenant}" has no events yet, so there is nothing to sign.`,
      );
    return checkpointResponse(checkpoint);
  }

  async getCheckpoint(
    principal: Principal,
    requestedTenant: string | undefined,
    treeSize?: number,
  ): Promise<CheckpointResponse> {
    const tenant = tenantFor(principal, requestedTenant, DEFAULT_TENANT);
    const checkpoint = await this.store.getCheckpoint(tenant, treeSize);
    if (!checkpoint) {
      throw new LogbookError(
        'NOT_FOUND',
        treeSize === undefined
          ? `Tenant "${tenant}" has no checkpoint yet: one is made every LOGBOOK_CHECKPOINT_INTERVAL_SECONDS after events arrive, or POST /api/v1/integrity/checkpoint.`
          : `Tenant "${tenant}" has no checkpoint at tree size ${treeSize}; omit treeSize for the latest.`,
      );
    }
    return checkpointResponse(checkpoint);
  }

  private async materialize(tenant: string, plan: ProofPlan): Promise<Uint8Array[]> {
    const nodes = await this.store.getMerkleNodes(tenant, plan.nodes);
    return materializeProof(plan, nodes);
  }

  /** Root of the tenant's tree at an earlier size, from the stored perfect subtrees that make it up. */
  private async rootAt(tenant: string, treeSize: number): Promise<Uint8Array> {
    const ids = compactRangeNodeIds(treeSize);
    const nodes = await this.store.getMerkleNodes(tenant, ids);
    return rootOf({ size: treeSize, hashes: ids.map((id) => nodes.get(nodeKey(id.level, id.index))!) });
  }

  private async currentSize(tenant: string): Promise<number> {
    return (await this.store.getTreeHead(tenant)).range.size;
  }

  async inclusionProof(principal: Principal, query: InclusionProofQuery): Promise<InclusionProofResponse> {
    const tenant = tenantFor(principal, query.tenant, DEFAULT_TENANT);
    if ((query.id === undefined) === (query.seq === undefined)) {
      throw new LogbookError(
        'VALIDATION_FAILED',
        'Give exactly one of id or seq to name the event to prove.',
        {
          issues: [{ field: 'query/id', rule: 'oneOf', message: 'exactly one of id or seq' }],
        },
      );
    }
    const event =
      query.id !== undefined
        ? await this.store.getEvent(tenant, query.id)
        : await this.store.getEventBySeq(tenant, query.seq!);
    if (!event) {
      throw new LogbookError(
        'NOT_FOUND',
        `No event with ${query.id !== undefined ? `id "${query.id}"` : `seq ${query.seq}`} in tenant "${tenant}".`,
      );
    }
    let checkpoint: StoredCheckpoint | null = null;
    let treeSize: number;
    if (query.treeSize !== undefined) {
      treeSize = query.treeSize;
      const size = await this.currentSize(tenant);
      if (treeSize > size || treeSize <= event.seq) {
        throw new LogbookError(
          'VALIDATION_FAILED',
          `treeSize must be greater than the event's seq (${event.seq}) and at most the log size (${size}); got ${treeSize}`,
          { issues: [{ field: 'query/treeSize', rule: 'range', message: `${event.seq + 1}…${size}` }] },
        );
      }
      checkpoint = await this.store.getCheckpoint(tenant, treeSize);
    } else {
      checkpoint = await this.store.getCheckpoint(tenant);
      if (!checkpoint || checkpoint.treeSize <= event.seq) checkpoint = await this.checkpoint(tenant);
      treeSize = checkpoint!.treeSize;
    }
    const proof = await this.materialize(tenant, inclusionProofPlan(event.seq, treeSize));
    return {
      tenant,
      leafIndex: event.seq,
      treeSize,
      leafHash: toBase64(event.leafHash),
      rootHash: toBase64(checkpoint?.rootHash ?? (await this.rootAt(tenant, treeSize))),
      proof: proof.map(toBase64),
      checkpoint: checkpoint?.note ?? null,
    };
  }

  async consistencyProof(
    principal: Principal,
    query: ConsistencyProofQuery,
  ): Promise<ConsistencyProofResponse> {
    const tenant = tenantFor(principal, query.tenant, DEFAULT_TENANT);
    const size = await this.currentSize(tenant);
    if (query.from > query.to || query.to > size) {
      throw new LogbookError(
        'VALIDATION_FAILED',
        `Need 1 ≤ from ≤ to ≤ ${size} (the log size); got from=${query.from}, to=${query.to}`,
        {
          issues: [{ field: 'query/to', rule: 'range', message: `from ≤ to ≤ ${size}` }],
        },
      );
    }
    const proof =
      query.from === query.to
        ? []
        : await this.materialize(tenant, consistencyProofPlan(query.from, query.to));
    return {
      tenant,
      from: query.from,
      to: query.to,
      fromRoot: toBase64(await this.rootAt(tenant, query.from)),
      toRoot: toBase64(await this.rootAt(tenant, query.to)),
      proof: proof.map(toBase64),
    };
  }
}
