// The agent's identity cache: when it answers, and every reason it does not.
import { createIdentityCache, identityKey } from '../../../plugin-agent/identity-cache';
import type { SessionIdentity, TpmInfo } from '../../../tpm';

const identity = { facts: { manufacturer: 'IBM' } } as unknown as SessionIdentity<TpmInfo>;
const quoted = { resetCount: 3, firmwareVersion: 0x2019_0000_0000_0001n };

test('answers within max age under the same key, and says why not otherwise', () => {
  let now = 1_000;
  const c = createIdentityCache(() => now);
  const key = identityKey({ tpm: 'swtpm:port=1', ak_handle: 0x81000100 });
  expect(c.lookup(key, 60_000)).toEqual({ miss: 'nothing cached' });
  c.fill(key, identity, quoted);
  expect(c.lookup(key, 60_000)).toEqual({ identity });
  expect(c.lookup(key, 0)).toEqual({ miss: 'identity_cache_max_age is 0' });
  expect(c.lookup(identityKey({ tpm: 'swtpm:port=1', ak_handle: 0x81000101 }), 60_000)).toEqual({
    miss: 'configuration changed',
  });
  now += 59_999;
  expect(c.lookup(key, 60_000)).toEqual({ identity });
  now += 1;
  expect(c.lookup(key, 60_000)).toEqual({ miss: 'older than identity_cache_max_age' });
});

test('a key covers every part: another EK certificate file or a missing part is another key', () => {
  const a = identityKey({ tpm: 't', ek_certificate: new Uint8Array([1]) });
  expect(identityKey({ tpm: 't', ek_certificate: new Uint8Array([1]) })).toBe(a);
  expect(identityKey({ tpm: 't', ek_certificate: new Uint8Array([2]) })).not.toBe(a);
  expect(identityKey({ tpm: 't', ek_certificate: undefined })).not.toBe(a);
});

test.each([
  [{ ...quoted, resetCount: 4 }, 'the TPM was reset (resetCount moved)'],
  [{ ...quoted, firmwareVersion: 0x2019_0000_0000_0002n }, 'the TPM firmware version changed'],
])('a quote showing a reset or new firmware drops it: %o', (later, why) => {
  const c = createIdentityCache();
  c.fill('k', identity, quoted);
  expect(c.checkQuote(quoted)).toBeUndefined();
  expect(c.lookup('k', 60_000)).toEqual({ identity });
  expect(c.checkQuote(later)).toBe(why);
  expect(c.lookup('k', 60_000)).toEqual({ miss: 'nothing cached' });
});

test('drop() forgets it', () => {
  const c = createIdentityCache();
  c.fill('k', identity, quoted);
  c.drop();
  expect(c.lookup('k', 60_000)).toEqual({ miss: 'nothing cached' });
});
