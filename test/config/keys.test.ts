import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { keyFromBase64, keyToBase64, keyFromHex, keyToHex, keyIsZero } from '../../src/config/keys.js';

describe('keys', () => {
  it('round-trips base64 and hex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (k) => {
        const b = keyToBase64(k);
        expect(b).toHaveLength(44);
        expect(keyFromBase64(b)).toEqual(k);
        expect(keyFromHex(keyToHex(k))).toEqual(k);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('rejects what wg rejects', () => {
    const good = 'iMD1/Ar7MMTx5tGNsBaiXj7c6NV8DBPoADux4fIneEM=';
    expect(keyFromBase64(good)).not.toBeNull();
    expect(keyFromBase64(good.slice(0, 43))).toBeNull(); // no '='
    expect(keyFromBase64(good + '=')).toBeNull(); // too long
    expect(keyFromBase64(good.slice(0, 42) + 'N=')).toBeNull(); // 'N' has low bits set: not canonical
    expect(keyFromBase64(good.replace('/', '_'))).toBeNull(); // url-safe alphabet is not base64 here
    expect(keyFromBase64('é'.repeat(43) + '=')).toBeNull();
    expect(keyFromHex('00'.repeat(31))).toBeNull();
    expect(keyFromHex('zz'.repeat(32))).toBeNull();
    expect(keyIsZero(new Uint8Array(32))).toBe(true);
    expect(keyIsZero(keyFromBase64(good)!)).toBe(false);
  });
});
