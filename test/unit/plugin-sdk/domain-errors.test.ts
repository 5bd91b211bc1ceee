// The one mapper from domain errors to the PluginError SPIRE sees: code table and message, cause kept.
import { Code, PluginError, toPluginError, type ClassifiedError } from '../../../plugin-sdk';
import { ProtocolError } from '../../../proto/tpmquote/protocol';
import { TpmCryptoError } from '../../../tpm/crypto/errors';
import { TpmError, TpmResponseError, TpmUnavailableError, TPM_RC_OBJECT_MEMORY } from '../../../tpm/errors';
import { AkStoreError } from '../../../tpm/ak/store';
import { TpmVerifyError } from '../../../tpm/verify/errors';
import { VerifierError } from '../../../verifier-client/errors';

const abort = Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });

describe('toPluginError', () => {
  test('each domain error is a ClassifiedError (checked by the compiler: plugin-sdk imports none of them)', () => {
    const domainErrors: ClassifiedError[] = [
      new ProtocolError('payload', 'empty'),
      new TpmVerifyError('NONCE_MISMATCH', 'x'),
      new TpmCryptoError('INVALID_KEY', 'x'),
      new VerifierError('unavailable', 'x'),
      new TpmUnavailableError('swtpm:port=1', 'x'),
      new TpmError(TPM_RC_OBJECT_MEMORY, 'TPM2_Load'),
      new TpmResponseError('TPM2_Quote', 'x'),
      new AkStoreError('AK directory /d', Object.assign(new Error('EROFS: read-only file system'), { code: 'EROFS' })),
      new AkStoreError('AK file /d/f', Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' })),
    ];
    expect(domainErrors.map((e) => e.failureClass)).toEqual([
      'malformed',
      'denied',
      'malformed',
      'unavailable',
      'unavailable',
      'tpm_refused',
      'tpm_bad_response',
      'precondition',
      'exhausted',
    ]);
  });

  test('a failureClass it does not know is not trusted: Internal', () => {
    const e = toPluginError(Object.assign(new Error('odd'), { failureClass: 'granted' }));
    expect([Code[e.code], e.message]).toEqual([Code[Code.INTERNAL], 'odd']);
  });

  test.each([
    [
      'ProtocolError',
      new ProtocolError('challenge.nonce', '0 bytes (1-64 expected)'),
      Code.INVALID_ARGUMENT,
      'challenge.nonce: 0 bytes (1-64 expected)',
    ],
    [
      'malformed TpmVerifyError',
      new TpmVerifyError('ATTEST_MALFORMED', 'TPMS_ATTEST: truncated'),
      Code.INVALID_ARGUMENT,
      'TPMS_ATTEST: truncated',
    ],
    [
      'rejected TpmVerifyError',
      new TpmVerifyError('NONCE_MISMATCH', 'extraData differs'),
      Code.PERMISSION_DENIED,
      'extraData differs (NONCE_MISMATCH)',
    ],
    [
      'TpmCryptoError',
      new TpmCryptoError('INVALID_KEY', 'EK point not on curve'),
      Code.INVALID_ARGUMENT,
      'EK point not on curve',
    ],
    [
      'VerifierError permission_denied',
      new VerifierError('permission_denied', 'PCR 7 differs'),
      Code.PERMISSION_DENIED,
      'PCR 7 differs',
    ],
    [
      'VerifierError invalid_argument',
      new VerifierError('invalid_argument', 'bad request'),
      Code.INVALID_ARGUMENT,
      'bad request',
    ],
    ['VerifierError unavailable', new VerifierError('unavailable', 'timed out'), Code.UNAVAILABLE, 'timed out'],
    [
      'TpmUnavailableError',
      new TpmUnavailableError('device:/dev/tpmrm0', 'ENOENT'),
      Code.UNAVAILABLE,
      'TPM device:/dev/tpmrm0 unavailable: ENOENT',
    ],
    [
      'TpmError',
      new TpmError(TPM_RC_OBJECT_MEMORY, 'TPM2_Load'),
      Code.FAILED_PRECONDITION,
      'TPM device:/dev/tpmrm0 refused TPM2_Load: TPM_RC_OBJECT_MEMORY (0x902)',
    ],
    [
      'TpmResponseError',
      new TpmResponseError('TPM2_Quote', 'size 9 < 10'),
      Code.UNAVAILABLE,
      'TPM device:/dev/tpmrm0 sent a malformed response: TPM2_Quote: malformed TPM response: size 9 < 10',
    ],
    ['an abort', abort, Code.UNAVAILABLE, 'cancelled'],
    ['anything else (our bug)', new RangeError('boom'), Code.INTERNAL, 'boom'],
  ])('%s', (_name, err, code, message) => {
    const e = toPluginError(err, { tpm: 'device:/dev/tpmrm0' });
    expect([Code[e.code], e.message]).toEqual([Code[code], message]);
    expect(e.cause).toBe(err);
  });

  test('the caller words the message around the detail, knowing the code', () => {
    const e = toPluginError(new VerifierError('unavailable', 'no answer'), {
      message: (code, detail) => `${Code[code]} / ${detail}`,
    });
    expect(e.message).toBe('UNAVAILABLE / no answer');
  });

  test('a PluginError is returned as it is', () => {
    const p = PluginError.failedPrecondition('not configured');
    expect(toPluginError(p, { message: () => 'reworded' })).toBe(p);
  });
});
