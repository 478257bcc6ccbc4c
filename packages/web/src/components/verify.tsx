// "Verify this event": the browser fetches the event, its inclusion proof and the signed checkpoint through the SDK
// and checks them with the protocol code against the key pinned in this browser — never against a key fetched for
// the occasion. It says plainly what was and was not proved.
import { LogbookVerificationError } from '@logbook/sdk';
import { useState } from 'react';
import { anonymousClient, describeError, loadPinnedKey, pinKey } from '../api.ts';
import { useDashboard } from '../context.ts';

type Result =
  | { state: 'idle' }
  | { state: 'running' }
  | { state: 'verified'; text: string; treeSize: number; signedBy: string[] }
  | { state: 'failed'; title: string; text: string };

export function VerifyEvent({ id }: { id: string }) {
  const { withPinnedKey, refreshClient } = useDashboard();
  const [result, setResult] = useState<Result>({ state: 'idle' });
  const [pinnedNow, setPinnedNow] = useState(false);

  const run = async () => {
    setResult({ state: 'running' });
    try {
      let pinned = loadPinnedKey();
      if (!pinned) {
        // First use: pin the server's key now, and say so (a key fetched from the server proves less than one
        // compared out of band: see the Integrity page's fingerprint).
        pinned = pinKey(await anonymousClient().integrity.publicKey());
        setPinnedNow(true);
        refreshClient();
      }
      const proof = await withPinnedKey(pinned.note).integrity.verifyEvent(id);
      setResult({
        state: 'verified',
        treeSize: proof.treeSize,
        signedBy: proof.signedBy,
        text:
          `Event seq ${proof.seq} of tenant "${proof.tenant}" is in the signed log: its content hashes to the leaf ` +
          `${proof.leafHash.slice(0, 16)}…, and the Merkle inclusion proof leads from that leaf to the root of the ` +
          `checkpoint of ${proof.treeSize} events signed by the pinned key ${proof.signedBy.join(', ')}. So this ` +
          'content is exactly what was logged; any later change to it or to earlier history would break the proof.',
      });
    } catch (error) {
      if (error instanceof LogbookVerificationError) {
        setResult({ state: 'failed', title: `Not verified (${error.reason})`, text: error.message });
      } else {
        const { title, hint } = describeError(error);
        setResult({ state: 'failed', title: `Could not verify: ${title}`, text: hint });
      }
    }
  };

  return (
    <div data-testid="verify">
      <button type="button" onClick={run} disabled={result.state === 'running'}>
        {result.state === 'running' ? 'Verifying…' : 'Verify this event'}
      </button>
      {pinnedNow && (
        <p className="notice warn">
          This browser had no pinned checkpoint key, so it pinned the server's key now. Compare its
          fingerprint on the Integrity page with the one your administrator published.
        </p>
      )}
      {result.state === 'verified' && (
        <div className="notice ok" role="status" data-testid="verify-result">
          <strong className="ok">✔ Verified</strong> — {result.text}
        </div>
      )}
      {result.state === 'failed' && (
        <div className="notice bad" role="alert" data-testid="verify-result">
          <strong className="bad">✘ {result.title}</strong> — {result.text}
        </div>
      )}
    </div>
  );
}
