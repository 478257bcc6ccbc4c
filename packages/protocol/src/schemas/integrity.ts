// Wire schemas of the integrity API (DESIGN.md §4, §6): checkpoints, proofs, the public key. Hashes are base64.
import Type, { type Static } from 'typebox';
import { IsoDateTime, Tenant } from './common.ts';

const Base64Hash = Type.String({ description: 'SHA-256 hash, base64 (32 bytes).' });

export const CheckpointResponse = Type.Object({
  tenant: Type.String(),
  treeSize: Type.Integer({ minimum: 0 }),
  rootHash: Base64Hash,
  timestamp: IsoDateTime,
  note: Type.String({ description: 'The C2SP signed checkpoint note, verifiable with the public key.' }),
});
export type CheckpointResponse = Static<typeof CheckpointResponse>;

export const CheckpointQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    treeSize: Type.Optional(
      Type.Integer({ minimum: 1, description: 'An older checkpoint, by its exact tree size.' }),
    ),
  },
  { additionalProperties: false },
);
export type CheckpointQuery = Static<typeof CheckpointQuery>;

export const CheckpointCreate = Type.Object(
  { tenant: Type.Optional(Tenant) },
  { additionalProperties: false },
);
export type CheckpointCreate = Static<typeof CheckpointCreate>;

export const InclusionProofQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    id: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'Event id (or give seq).' })),
    seq: Type.Optional(Type.Integer({ minimum: 0, description: 'Event seq, i.e. leaf index (or give id).' })),
    treeSize: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'Tree size to prove against; default: the latest checkpoint (one is made if none covers the event).',
      }),
    ),
  },
  { additionalProperties: false },
);
export type InclusionProofQuery = Static<typeof InclusionProofQuery>;

export const InclusionProofResponse = Type.Object({
  tenant: Type.String(),
  leafIndex: Type.Integer(),
  treeSize: Type.Integer(),
  leafHash: Base64Hash,
  rootHash: Base64Hash,
  proof: Type.Array(Base64Hash),
  checkpoint: Type.Union([Type.String(), Type.Null()], {
    description:
      'Signed checkpoint note at treeSize, when one exists: verify it with the public key, then the proof against its root.',
  }),
});
export type InclusionProofResponse = Static<typeof InclusionProofResponse>;

export const ConsistencyProofQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    from: Type.Integer({ minimum: 1, description: 'The older tree size (≥ 1).' }),
    to: Type.Integer({ minimum: 1, description: 'The newer tree size (≤ the log size).' }),
  },
  { additionalProperties: false },
);
export type ConsistencyProofQuery = Static<typeof ConsistencyProofQuery>;

export const ConsistencyProofResponse = Type.Object({
  tenant: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  fromRoot: Base64Hash,
  toRoot: Base64Hash,
  proof: Type.Array(Base64Hash),
});
export type ConsistencyProofResponse = Static<typeof ConsistencyProofResponse>;

export const PublicKeyResponse = Type.Object({
  keyName: Type.String({ description: 'Signer name; each tenant log has origin "<keyName>/<tenant>".' }),
  publicKey: Type.String({ description: 'Raw Ed25519 public key, base64.' }),
  note: Type.String({ description: 'C2SP verifier key string: name+hash+base64(0x01‖key).' }),
});
export type PublicKeyResponse = Static<typeof PublicKeyResponse>;
