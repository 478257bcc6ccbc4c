// Request validation: strict for bodies (no coercion, no silent stripping of unknown fields), coercing for
// query strings and params (they are text on the wire). Ajv errors become FieldIssues that name field and rule.
import { type FieldIssue, LogbookError } from '@logbook/protocol';
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

/**
 * A body that is one of two shapes told apart by whether a key is present (`{ "events": [...] }` or one event)
 * carries `x-present-key` on its anyOf: only the branch the client chose is validated, so errors name its fields.
 */
export const PRESENT_KEY = 'x-present-key';

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strictAjv : coercingAjv;
  const key = (schema as Record<string, unknown>)[PRESENT_KEY];
  const branches = (schema as { anyOf?: object[] }).anyOf;
  if (typeof key !== 'string' || branches?.length !== 2) {
    return ajv.compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
  }
  const [whenPresent, otherwise] = branches.map((branch) => ajv.compile(branch)) as unknown as [
    Validate,
    Validate,
  ];
  const validate: Validate = (data: unknown) => {
    const chosen = data !== null && typeof data === 'object' && key in data ? whenPresent : otherwise;
    const ok = chosen(data);
    validate.errors = chosen.errors ?? null;
    return ok;
  };
  return validate as ReturnType<FastifySchemaCompiler<object>>;
};

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

/** The issues of a failed validation (Ajv stops at the first, so there is one). */
export function validationIssues(context: string, errors: ErrorObject[]): FieldIssue[] {
  const part = PART_NAMES[context] ?? context;
  return errors.map((error) => issueOf(part, error));
}

/**
 * A strict validator for one item of a body that is checked piece by piece (an entry of a JSON array, a line of an
 * NDJSON stream): on failure it throws the 400 that names `field` (e.g. `body/line/17`) and the rule.
 */
export function compileItemValidator<T>(
  schema: object,
): (value: unknown, field: string) => asserts value is T {
  const validate = strictAjv.compile(schema);
  return (value: unknown, field: string): asserts value is T => {
    if (validate(value)) return;
    const issues = (validate.errors ?? []).map((error) => issueOf(field, error));
    const first = issues[0];
    throw new LogbookError(
      'VALIDATION_FAILED',
      first ? `${first.field} ${first.message}` : `${field} is invalid`,
      {
        issues,
      },
    );
  };
}
