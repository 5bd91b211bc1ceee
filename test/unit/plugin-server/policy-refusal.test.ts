// What a caller is told about a check-5 refusal, from the verifier's typed failures (Keylime's and the
// in-process verifier's): its failing PCRs, never the allowed values, the policy file or the verifier URL.
import {
  bootRefusalForCaller,
  isMeasuredBootRefusal,
  policyRefusalForCaller,
} from '../../../plugin-server/policy-refusal';
import { VerifierError, type VerifierFailure } from '../../../verifier-client';

const denied = (failures: VerifierFailure[]) =>
  new VerifierError('permission_denied', 'keylime verifier https://10.0.0.1:8881/v2.3/verify/evidence: secret', {
    url: 'https://10.0.0.1:8881',
    failures,
  });

describe('policyRefusalForCaller', () => {
  test.each<[string, VerifierFailure[], string]>([
    [
      'Keylime invalid PCR (its context carries the value it got)',
      [
        {
          type: 'pcr_validation.invalid_pcr_7',
          context: { message: 'PCR value is not in allowlist', got: 'ab'.repeat(32) },
        },
      ],
      'PCR sha256:7 is not allowed',
    ],
    [
      'in-process mismatches, one per PCR, the expected values in their context',
      [
        { type: 'pcr_validation.invalid_pcr_0', context: { kind: 'mismatch', pcr: 0, got: '00', expected: ['11'] } },
        { type: 'pcr_validation.invalid_pcr_16', context: { kind: 'mismatch', pcr: 16, got: '00', expected: ['22'] } },
      ],
      'PCR sha256:0 is not allowed; PCR sha256:16 is not allowed',
    ],
    [
      'a missing PCR with its number',
      [{ type: 'pcr_validation.missing_pcrs', context: { pcr: 4, bank: 'sha256' } }],
      'PCR sha256:4 was not quoted',
    ],
    [
      'a missing PCR without a usable number',
      [{ type: 'pcr_validation.missing_pcrs', context: { pcr: '4; rm -rf' } }],
      'a PCR the policy lists was not quoted',
    ],
    [
      'another failure type: named when plain, never echoed otherwise',
      [
        { type: 'quote_validation.signature_invalid', context: {} },
        { type: 'https://10.0.0.1/evil "type"', context: {} },
      ],
      'the verifier refused the evidence (quote_validation.signature_invalid); the verifier refused the evidence (unnamed failure)',
    ],
    ['no failures listed', [], 'the verifier refused the evidence'],
  ])('%s', (_n, failures, text) => {
    const shown = policyRefusalForCaller(denied(failures), 'sha256');
    expect(shown).toBe(text);
    expect(shown).not.toMatch(/https:|10\.0\.0\.1|secret|(ab){4}/);
  });

  test('an error that is not a VerifierError says nothing more', () => {
    expect(policyRefusalForCaller(new Error('/etc/policy.json: boom'), 'sha256')).toBe(
      'the verifier refused the evidence',
    );
  });
});

describe('measured-boot refusals (Keylime judged the boot log)', () => {
  const mb = denied([
    {
      type: 'measured_boot.policy_example',
      context: { context: 'Boot attestation failed', refstate: "{'db': ['0xsecret']}", reason: "is not '0xsecret'" },
    },
    { type: 'pcr_validation.invalid_pcr_7', context: {} },
  ]);
  test('a measured_boot.* failure makes it a boot refusal; PCR failures alone do not', () => {
    expect(isMeasuredBootRefusal(mb)).toBe(true);
    expect(isMeasuredBootRefusal(denied([{ type: 'pcr_validation.invalid_pcr_7', context: {} }]))).toBe(false);
    expect(isMeasuredBootRefusal(new Error('x'))).toBe(false);
  });
  test('the caller is told the measured-boot failure types only, never the reason or the state', () => {
    const text = bootRefusalForCaller(mb);
    expect(text).toBe(
      'the verifier refused the boot log against its measured-boot reference state (measured_boot.policy_example)',
    );
    expect(text).not.toMatch(/secret|10\.0\.0\.1/);
  });
});
