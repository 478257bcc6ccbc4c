// Request validation: strict for bodies (no coercion, no silent stripping of unknown fields), coercing for
// query strings and params (they are text on the wire). Ajv errors become FieldIssues that name field and rule.
import type { FieldIssue } from '@logbook/protocol';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

function makeAjv(coerce: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: coerce,
    useDefaults: coerce,
    removeAdditional: false,
    strict: false,
    verbose: true,
  });
  addFormats.default(ajv);
  return ajv;
}

const strictAjv = makeAjv(false);
const coercingAjv = makeAjv(true);

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema) as ReturnType<
    FastifySchemaCompiler<object>
  >;

const PART_NAMES: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'header',
};

function issueOf(part: string, error: ErrorObject): FieldIssue {
  const base = `${part}${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { field: `${base}/${String(params.missingProperty)}`, rule: 'required', message: 'is required' };
    case 'additionalProperties': {
      const allowed = Object.keys(
        (error.parentSchema as { properties?: object } | undefined)?.properties ?? {},
      );
      return {
        field: `${base}/${String(params.additionalProperty)}`,
        rule: 'additionalProperties',
        message: `is not a known field${allowed.length ? ` (known: ${allowed.join(', ')})` : ''}`,
      };
    }
    case 'enum':
      return {
        field: base,
        rule: 'enum',
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}`,
      };
    default:
      return { field: base, rule: error.keyword, message: error.message ?? 'is invalid' };
  }
}

/**
 * The most useful issue of a failed validation. For `anyOf` bodies (one event, or `{events:[…]}`) Ajv reports every
 * branch; the branch whose error reaches deepest into the input is the one the client meant.
 */
export function validationIssues(context: string, errors: ErrorObject[]): FieldIssue[] {
  const part = PART_NAMES[context] ?? context;
  const concrete = errors.filter((e) => e.keyword !== 'anyOf');
  if (concrete.length === 0) return errors.map((e) => issueOf(part, e));
  const depth = (e: ErrorObject) =>
    e.instancePath.split('/').length +
    (e.keyword === 'required' || e.keyword === 'additionalProperties' ? 1 : 0);
  const branch = (e: ErrorObject) => Number(/anyOf\/(\d+)/.exec(e.schemaPath)?.[1] ?? 0);
  const best = concrete.reduce((a, b) =>
    depth(b) > depth(a) || (depth(b) === depth(a) && branch(b) > branch(a)) ? b : a,
  );
  return [issueOf(part, best)];
}
