// RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes that audit events are hashed over.
// Pure: never does I/O, and never produces output for a value that has no faithful JSON form.

import { isWellFormedUnicode, utf8Encode } from './encoding.ts';

// Objects whose own enumerable properties are not their content: JSON.stringify turns them into
// "{}" and silently loses data, which must never happen to something that gets hashed.
const OPAQUE_OBJECT_TAGS = new Set([
  '[object Map]',
  '[object Set]',
  '[object WeakMap]',
  '[object WeakSet]',
  '[object RegExp]',
  '[object Promise]',
  '[object ArrayBuffer]',
  '[object SharedArrayBuffer]',
  '[object DataView]',
]);

/** Where in the input a problem is, rendered only when there is one (building paths eagerly halves the speed). */
type PathStack = (string | number)[];

function renderPath(stack: PathStack): string {
  let path = '$';
  for (const part of stack) {
    path +=
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `.${part}`
          : `[${JSON.stringify(part)}]`;
  }
  return path;
}

function invalid(stack: PathStack, problem: string): never {
  throw new TypeError(
    `canonicalJson: ${problem} at ${renderPath(stack)} cannot be represented in RFC 8785 JSON`,
  );
}

// ES Number::toString is exactly the RFC 8785 number format (shortest round-trip digits,
// exponent from 1e21 / below 1e-6, "-0" written as "0").
function serializeNumber(value: number, stack: PathStack): string {
  if (!Number.isFinite(value)) invalid(stack, `the number ${value}`);
  return JSON.stringify(value);
}

// Strings that need no escaping (the common case) are quoted as they are; only the rest pay for JSON.stringify.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what must be escaped
const NEEDS_ESCAPE_OR_CHECK = /["\\\u0000-\u001f\ud800-\udfff]/;

// JSON.stringify escapes exactly as RFC 8785 requires (\b \t \n \f \r \" \\, other controls as lower-case
// \u00xx, everything else literal), but I-JSON forbids lone surrogates.
function serializeString(value: string, stack: PathStack): string {
  if (!NEEDS_ESCAPE_OR_CHECK.test(value)) return `"${value}"`;
  if (!isWellFormedUnicode(value)) invalid(stack, 'a string with a lone UTF-16 surrogate');
  return JSON.stringify(value);
}

/**
 * Sorts property names in place by UTF-16 code units (what `<` compares). Objects have few keys: an insertion sort
 * allocates nothing, where Array.prototype.sort allocated its work state for every object of every event.
 */
function sortNames(names: string[]): string[] {
  for (let i = 1; i < names.length; i++) {
    const name = names[i]!;
    let j = i - 1;
    while (j >= 0 && names[j]! > name) {
      names[j + 1] = names[j]!;
      j--;
    }
    names[j + 1] = name;
  }
  return names;
}

/**
 * `ancestors` holds the objects being serialised above this one (for circular references): a stack as deep as the
 * value, searched linearly, where a Set reallocated its table as it grew and shrank on every nested object.
 */
function serialize(input: unknown, stack: PathStack, key: string | number, ancestors: object[]): string {
  let value = input;
  // Honour toJSON (e.g. Date -> ISO string) so the result matches what JSON.stringify would store.
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    value = (value as { toJSON: (key: string) => unknown }).toJSON.call(value, String(key));
  }
  switch (typeof value) {
    case 'string':
      return serializeString(value, stack);
    case 'number':
      return serializeNumber(value, stack);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return invalid(stack, 'a BigInt');
    case 'function':
      return invalid(stack, 'a function');
    case 'symbol':
      return invalid(stack, 'a symbol');
    case 'undefined':
      // Only reachable at the top level: object members that are undefined are dropped and
      // array elements become null before we get here.
      return invalid(stack, stack.length === 0 ? 'undefined' : 'an undefined value');
  }
  if (value === null) return 'null';

  const object = value as object;
  const proto = Object.getPrototypeOf(object);
  // Plain objects and arrays (everything JSON.parse makes) skip the slower exotic-object checks.
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) {
    // Boxed primitives serialise as their primitive value, as in JSON.stringify.
    if (object instanceof Number || object instanceof String || object instanceof Boolean) {
      return serialize(object.valueOf(), stack, key, ancestors);
    }
    const tag = Object.prototype.toString.call(object);
    if (OPAQUE_OBJECT_TAGS.has(tag) || ArrayBuffer.isView(object)) invalid(stack, `a ${tag.slice(8, -1)}`);
  }
  if (ancestors.includes(object)) invalid(stack, 'a circular reference');
  ancestors.push(object);
  try {
    if (Array.isArray(object)) {
      let out = '[';
      for (let i = 0; i < object.length; i++) {
        const element: unknown = object[i];
        if (i > 0) out += ',';
        // Like JSON.stringify: holes and undefined elements are written as null.
        if (element === undefined) {
          out += 'null';
        } else {
          stack.push(i);
          out += serialize(element, stack, i, ancestors);
          stack.pop();
        }
      }
      return `${out}]`;
    }
    const record = object as Record<string, unknown>;
    let out = '{';
    // sortNames compares UTF-16 code units, exactly the order RFC 8785 section 3.2.3 requires.
    for (const name of sortNames(Object.keys(record))) {
      const member = record[name];
      // Like JSON.stringify: undefined members are omitted, so `{ a: undefined }` equals `{}`.
      if (member === undefined) continue;
      stack.push(name);
      if (out.length > 1) out += ',';
      out += serializeString(name, stack);
      out += ':';
      out += serialize(member, stack, name, ancestors);
      stack.pop();
    }
    return `${out}}`;
  } finally {
    ancestors.pop();
  }
}

/**
 * RFC 8785 canonical JSON text of a value: object keys sorted by UTF-16 code units, no
 * whitespace, ECMAScript number and string serialisation.
 *
 * Follows JSON.stringify where JSON.stringify is faithful (toJSON is applied, undefined object
 * members are dropped, undefined array elements become null), and throws a TypeError naming the
 * offending path where it is not: NaN and Infinity, BigInt, functions, symbols, lone surrogates,
 * circular references, Maps, Sets, typed arrays and other objects that would silently become "{}".
 */
export function canonicalJson(value: unknown): string {
  return serialize(value, [], '', []);
}

/** UTF-8 bytes of canonicalJson(value): the input to hashLeaf for an audit event. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalJson(value));
}
