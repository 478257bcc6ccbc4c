// Loading, empty and error states: each says what is happening and what to do next.
import type { ReactNode } from 'react';
import { describeError } from '../api.ts';

export function Loading({ what }: { what: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      Loading {what}…
    </div>
  );
}

export function Empty({ title, hint }: { title: string; hint: ReactNode }) {
  return (
    <div className="state" role="status">
      <strong>{title}</strong>
      {hint}
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const { title, hint } = describeError(error);
  return (
    <div className="state error" role="alert">
      <strong>{title}</strong>
      <span>{hint}</span>{' '}
      {retry && (
        <button type="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}
