// Integrity: the latest signed checkpoint and whether its signature verifies against the key pinned in this
// browser (trust on first use, with a fingerprint to compare out of band), and "verify an event" by id.
import { openCheckpoint, parseVerifierKey } from '@logbook/protocol';
import { type FormEvent, useEffect, useState } from 'react';
import { anonymousClient, fingerprint, loadPinnedKey, type PinnedKey, pinKey, unpinKey } from '../api.ts';
import { ErrorState, Loading } from '../components/states.tsx';
import { VerifyEvent } from '../components/verify.tsx';
import { useDashboard } from '../context.ts';
import { useAsync } from '../hooks.ts';

function checkpointStatus(note: string, tenant: string, pinned: PinnedKey | null) {
  if (!pinned)
    return { ok: false, text: 'No key is pinned in this browser yet: pin the server key below first.' };
  try {
    const key = parseVerifierKey(pinned.note);
    openCheckpoint(note, key, `${key.name}/${tenant}`);
    return { ok: true, text: `The signature verifies against the pinned key ${key.name}.` };
  } catch (error) {
    return {
      ok: false,
      text: `The signature does NOT verify against the pinned key: ${(error as Error).message}`,
    };
  }
}

export function IntegrityPage() {
  const { client, refreshClient } = useDashboard();
  const checkpoint = useAsync(() => client.integrity.checkpoint(), []);
  const serverKey = useAsync(() => anonymousClient().integrity.publicKey(), []);
  const [pinned, setPinned] = useState<PinnedKey | null>(loadPinnedKey);
  const [prints, setPrints] = useState<{ pinned?: string; server?: string }>({});
  const [verifyId, setVerifyId] = useState<string | null>(null);

  useEffect(() => {
    (async () => {
      setPrints({
        ...(pinned ? { pinned: await fingerprint(pinned.publicKey) } : {}),
        ...(serverKey.data ? { server: await fingerprint(serverKey.data.publicKey) } : {}),
      });
    })();
  }, [pinned, serverKey.data]);

  const pin = () => {
    if (!serverKey.data) return;
    setPinned(pinKey(serverKey.data));
    refreshClient();
  };
  const changed = pinned && serverKey.data && pinned.note !== serverKey.data.note;

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const id = String(new FormData(event.currentTarget).get('id') ?? '').trim();
    setVerifyId(id || null);
  };

  return (
    <div className="page">
      <div className="cards">
        <section className="card" aria-label="Latest checkpoint">
          <h2>Latest signed checkpoint</h2>
          {checkpoint.loading && <Loading what="the checkpoint" />}
          {checkpoint.error !== undefined && (
            <ErrorState error={checkpoint.error} retry={checkpoint.reload} />
          )}
          {checkpoint.data && (
            <>
              {(() => {
                const status = checkpointStatus(checkpoint.data.note, checkpoint.data.tenant, pinned);
                return (
                  <p className={`notice ${status.ok ? 'ok' : 'bad'}`} data-testid="checkpoint-status">
                    {status.ok ? '✔ ' : '✘ '}
                    {status.text}
                  </p>
                );
              })()}
              <dl className="kv">
                <dt>Tenant</dt>
                <dd>{checkpoint.data.tenant}</dd>
                <dt>Tree size</dt>
                <dd data-testid="tree-size">{checkpoint.data.treeSize.toLocaleString()} events</dd>
                <dt>Root hash</dt>
                <dd className="mono">{checkpoint.data.rootHash}</dd>
                <dt>Signed at</dt>
                <dd>{new Date(checkpoint.data.timestamp).toLocaleString()}</dd>
              </dl>
              <details>
                <summary>Signed note (C2SP)</summary>
                <pre>{checkpoint.data.note}</pre>
              </details>
            </>
          )}
        </section>
        <section className="card" aria-label="Pinned key">
          <h2>Checkpoint signing key</h2>
          {pinned ? (
            <dl className="kv">
              <dt>Pinned key</dt>
              <dd>{pinned.keyName}</dd>
              <dt>Fingerprint</dt>
              <dd className="mono" data-testid="fingerprint">
                {prints.pinned ?? '…'}
              </dd>
              <dt>Pinned</dt>
              <dd>{new Date(pinned.pinnedAt).toLocaleString()}</dd>
            </dl>
          ) : (
            <p className="muted">
              No key pinned in this browser. Pinning keeps the server's key here, so a later change of key is
              noticed.
            </p>
          )}
          {changed && (
            <p className="notice bad" role="alert">
              The server now presents a different key ({serverKey.data?.keyName}, fingerprint {prints.server}
              ). If your administrator did not rotate it, the server may be lying: do not re-pin.
            </p>
          )}
          <p className="muted" style={{ fontSize: 12 }}>
            Compare the fingerprint with the one your administrator published (or the data folder's
            checkpoint-signing.pub): a key fetched from the server proves only that the server is consistent
            with itself.
          </p>
          {(!pinned || changed) && (
            <button type="button" onClick={pin} disabled={!serverKey.data}>
              {pinned ? 'Re-pin the server key' : 'Pin the server key'}
            </button>
          )}
          {pinned && !changed && (
            <button
              type="button"
              onClick={() => {
                unpinKey();
                setPinned(null);
                refreshClient();
              }}
            >
              Forget the pinned key
            </button>
          )}
        </section>
        <section className="card" aria-label="Verify an event">
          <h2>Verify an event</h2>
          <p className="muted">
            Paste an event id (or use “Verify this event” in an event's detail). The browser checks the proof
            itself.
          </p>
          <form className="inline" onSubmit={submit}>
            <input name="id" aria-label="Event id" placeholder="event id" style={{ flex: 1 }} />
            <button type="submit">Load</button>
          </form>
          {verifyId && (
            <div style={{ marginTop: 8 }}>
              <VerifyEvent id={verifyId} key={verifyId} />
            </div>
          )}
        </section>
      </div>
    </div>
  );
}
