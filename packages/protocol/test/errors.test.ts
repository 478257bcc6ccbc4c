import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES, LogbookError } from '../src/errors.ts';

describe('error catalog', () => {
  it('every code is documented in docs/reference/errors.md with its status', () => {
    const doc = fs.readFileSync(new URL('../../../docs/reference/errors.md', import.meta.url), 'utf8');
    for (const code of ERROR_CODES) {
      // Columns may be padded by the Markdown formatter: match cells, not exact spacing.
      const row = new RegExp(`^\\|\\s*\`${code}\`\\s*\\|\\s*${ERROR_CATALOG[code].status}\\s*\\|`, 'm');
      expect(
        doc,
        `docs/reference/errors.md lacks a row for ${code} with status ${ERROR_CATALOG[code].status}`,
      ).toMatch(row);
    }
  });

  it('statuses are 4xx or 5xx and messages are non-empty', () => {
    for (const code of ERROR_CODES) {
      const { status, message } = ERROR_CATALOG[code];
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(message.length).toBeGreaterThan(10);
    }
  });

  it('LogbookError carries the catalog status and renders the wire body', () => {
    const error = new LogbookError('NOT_FOUND', 'No event with id "x".');
    expect(error.status).toBe(404);
    expect(error.toBody('req-1')).toEqual({
      error: { code: 'NOT_FOUND', status: 404, message: 'No event with id "x".', requestId: 'req-1' },
    });
  });
});
