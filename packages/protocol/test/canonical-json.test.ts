// RFC 8785 (JCS) conformance: the RFC's own examples (sections 3.2.2-3.2.3, Appendix B) and the
// reference test data of its authors (cyberphone/json-canonicalization), plus the rejection rules.

import { describe, expect, it } from 'vitest';
import { canonicalBytes, canonicalJson } from '../src/canonical-json.ts';
import { toHex } from '../src/encoding.ts';

function doubleFromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('RFC 8785 Appendix B number serialisation', () => {
  const cases: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'], // -0
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  it.each(cases)('%s -> %s', (bits, expected) => {
    expect(canonicalJson(doubleFromHex(bits))).toBe(expected);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])('rejects NaN/Infinity %s', (bits) => {
    expect(() => canonicalJson(doubleFromHex(bits))).toThrow(TypeError);
  });

  it('formats literals from JSON text as the RFC shows', () => {
    expect(
      canonicalJson(
        JSON.parse('[1E30, 4.50, 2e-3, 0.000000000000000000000000001, 333333333.33333329, -0, 1e21, 1e20]'),
      ),
    ).toBe('[1e+30,4.5,0.002,1e-27,333333333.3333333,0,1e+21,100000000000000000000]');
  });
});

describe('RFC 8785 examples', () => {
  it('section 3.2.2 / 3.2.4: the sample object and its UTF-8 bytes', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    const expected =
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
      '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}';
    expect(canonicalJson(input)).toBe(expected);
    // Section 3.2.4 lists the UTF-8 bytes of that output, 20 per line.
    const rfcBytes = `
      7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
      75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
      5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
      65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
      5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
      30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d`;
    expect(toHex(canonicalBytes(input))).toBe(rfcBytes.replace(/\s+/g, ''));
  });

  it('section 3.2.3: sorts property names by UTF-16 code units', () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        ' "1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        ' "\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    // Compared as text: re-parsing would let JS move the integer-like key "1" to the front.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\u{1f600}":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
    // Code unit order puts the astral U+1F600 (surrogates D83D DE00) before U+FB33, unlike code point order.
    expect(canonicalJson({ '\ufb33': 1, '\u{1f600}': 2 })).toBe('{"\u{1f600}":2,"\ufb33":1}');
  });
});

describe('cyberphone/json-canonicalization test data', () => {
  const cases: [string, string, string][] = [
    ['arrays', '[56, {"d": true, "10": null, "1": [ ]}]', '[56,{"1":[],"10":null,"d":true}]'],
    [
      'french',
      '{"peach": "This sorting order", "péché": "is wrong according to French", "pêche": "but canonicalization MUST", "sin": "ingnore locale"}',
      '{"peach":"This sorting order","péché":"is wrong according to French","pêche":"but canonicalization MUST","sin":"ingnore locale"}',
    ],
    [
      'structures',
      '{"1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0}, "10": { }, "": "empty", "a": { }, "111": [ { } ], "A": { }}',
      '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
    ],
    ['unicode', '{"Unnormalized Unicode":"\\u1e0d\\u0307"}', '{"Unnormalized Unicode":"\u1e0d\u0307"}'],
    [
      'weird',
      '{"\\u20ac": "Euro Sign", "1": "One", "\\u0080": "Control\\u007f", "\\ud83d\\ude02": "Smiley",' +
        ' "\\u00f6": "Latin Small Letter O With Diaeresis", "\\ufb33": "Hebrew Letter Dalet With Dagesh", "</script>": "Browser Challenge"}',
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\u{1f602}":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    ],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(canonicalJson(JSON.parse(input))).toBe(expected);
  });
});

describe('JavaScript values', () => {
  it('follows JSON.stringify for undefined, toJSON and boxed primitives', () => {
    expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
    expect(canonicalJson([undefined, 1])).toBe('[null,1]');
    // biome-ignore lint/suspicious/noSparseArray: a hole is exactly what is being tested.
    expect(canonicalJson([1, , 3])).toBe('[1,null,3]');
    expect(canonicalJson({ at: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)) })).toBe(
      '{"at":"2024-01-02T03:04:05.000Z"}',
    );
    expect(canonicalJson([new String('s'), new Number(2), new Boolean(false)])).toBe('["s",2,false]');
    expect(canonicalJson('\u2028\u0000\u001f"\\')).toBe('"\u2028\\u0000\\u001f\\"\\\\"');
  });

  it('is invariant under a JSON round trip and key order', () => {
    const value = { z: [1, 2.5, { y: null, x: 'é' }], a: { c: true, b: -0.0000001 }, m: '' };
    const shuffled = { m: '', a: { b: -0.0000001, c: true }, z: [1, 2.5, { x: 'é', y: null }] };
    expect(canonicalJson(JSON.parse(JSON.stringify(value)))).toBe(canonicalJson(value));
    expect(canonicalJson(shuffled)).toBe(canonicalJson(value));
    expect(canonicalJson(value)).toBe('{"a":{"b":-1e-7,"c":true},"m":"","z":[1,2.5,{"x":"é","y":null}]}');
  });

  it.each([
    ['NaN', { n: Number.NaN }, /\$\.n/],
    ['Infinity', [Number.NEGATIVE_INFINITY], /\$\[0\]/],
    ['BigInt', { big: 1n }, /BigInt/],
    ['function', { f: () => 1 }, /function/],
    ['symbol', { s: Symbol('x') }, /symbol/],
    ['undefined', undefined, /undefined/],
    ['lone surrogate in a value', { s: '\ud800' }, /surrogate/],
    ['lone surrogate in a key', { '\udfff': 1 }, /surrogate/],
    ['Map', { m: new Map([[1, 2]]) }, /Map/],
    ['Set', new Set([1]), /Set/],
    ['typed array', { bytes: new Uint8Array(2) }, /Uint8Array/],
  ])('rejects %s with a TypeError naming the problem', (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
    expect(() => canonicalJson(value)).toThrow(message);
  });

  it('rejects circular structures but accepts shared ones', () => {
    const shared = { x: 1 };
    expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/circular/);
  });

  it('canonicalBytes is the UTF-8 encoding', () => {
    expect([...canonicalBytes({ k: '€' })]).toEqual([...new TextEncoder().encode('{"k":"€"}')]);
  });
});
