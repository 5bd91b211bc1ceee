// How domain errors met during a check become the server's AttestationError: code, reason and message together.
import { Code } from '../../../plugin-sdk';
import { ProtocolError } from '../../../proto/tpmquote/protocol';
import { TpmVerifyError } from '../../../tpm/verify/errors';
import { VerifierError } from '../../../verifier-client/errors';
import { AttestationError, refusal, type RefusalOptions } from '../../../plugin-server/attestation-error';

const policy: RefusalOptions = {
  check: 'pcr_policy',
  what: 'evidence',
  detail: (d, code) => (code === Code.PERMISSION_DENIED ? `${d} (policy /p.json)` : d),
};

describe('refusal', () => {
  test.each([
    [
      'verifier denial',
      new VerifierError('permission_denied', 'PCR sha256:7 differs'),
      policy,
      Code.PERMISSION_DENIED,
      'pcr_policy',
      'PCR policy check failed: PCR sha256:7 differs (policy /p.json)',
    ],
    [
      'verifier 400',
      new VerifierError('invalid_argument', 'bad body'),
      policy,
      Code.INVALID_ARGUMENT,
      'malformed',
      'malformed evidence: bad body',
    ],
    [
      'verifier unreachable',
      new VerifierError('unavailable', 'timed out'),
      policy,
      Code.UNAVAILABLE,
      'verifier_unavailable',
      'PCR policy verifier unavailable: timed out',
    ],
    [
      'rejected quote',
      new TpmVerifyError('NONCE_MISMATCH', 'extraData differs'),
      { check: 'quote', what: 'challenge_response' },
      Code.PERMISSION_DENIED,
      'quote',
      'quote check failed: extraData differs (NONCE_MISMATCH)',
    ],
    [
      'malformed quote',
      new TpmVerifyError('ATTEST_MALFORMED', 'truncated'),
      { check: 'quote', what: 'challenge_response' },
      Code.INVALID_ARGUMENT,
      'malformed',
      'malformed challenge_response: truncated',
    ],
    [
      'protocol error (names its field)',
      new ProtocolError('payload', 'empty'),
      {},
      Code.INVALID_ARGUMENT,
      'malformed',
      'malformed payload: empty',
    ],
  ] as const)('%s', (_name, err, options, code, reason, message) => {
    const e = refusal(err, options);
    expect([Code[e.code], e.reason, e.message]).toEqual([Code[code], reason, message]);
    expect(e.cause).toBe(err);
  });

  test('our own bug, or a denial outside any check, is rethrown as it is', () => {
    const bug = new RangeError('boom');
    expect(() => refusal(bug, { check: 'quote' })).toThrow(bug);
    const denial = new VerifierError('permission_denied', 'no');
    expect(() => refusal(denial, {})).toThrow(denial);
  });

  test('an AttestationError passes through', () => {
    const e = new AttestationError(Code.INVALID_ARGUMENT, 'malformed', 'malformed payload: empty');
    expect(refusal(e, { check: 'quote' })).toBe(e);
  });
});
