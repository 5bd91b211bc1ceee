// What a caller is told about a verifier's refusal, from its typed failures (Keylime's and the in-process
// verifier's): its failing PCRs or failure types, never the allowed values, the policy file or the verifier URL;
// and which check (or the verifier's own parser failing) a Keylime refusal is.
import { Code } from '../../../plugin-sdk';
import { forCaller } from '../../../plugin-server/attestation-error';
import {
  bootLogUnparsedRefusal,
  bootRefusalForCaller,
  classifyVerifierRefusal,
  policyRefusalForCaller,
  type VerifierRefusalKind,
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
    expect(classifyVerifierRefusal(mb)).toBe('boot_policy');
    expect(classifyVerifierRefusal(denied([{ type: 'pcr_validation.invalid_pcr_7', context: {} }]))).toBe('pcr_policy');
    expect(classifyVerifierRefusal(new Error('x'))).toBe('pcr_policy');
  });
  test('the caller is told the measured-boot failure types only, never the reason or the state', () => {
    const text = bootRefusalForCaller(mb);
    expect(text).toBe(
      'the verifier refused the boot log against its measured-boot reference state (measured_boot.policy_example)',
    );
    expect(text).not.toMatch(/secret|10\.0\.0\.1/);
  });
});

describe('Keylime could not parse a log we replayed (measured_boot.parser.*)', () => {
  // As the real Keylime 7.14.3 verifier answered with libefivar.so.1 blanked (keylime-measured-boot suite, 04).
  const bootlogEnrich: VerifierFailure = {
    type: 'measured_boot.parser.bootlog_enrich',
    context: {
      message:
        'Could not load tpm_bootlog_enrich (which depends on libefivar.so.1): /lib/x86_64-linux-gnu/libefivar.so.1: file too short',
    },
  };
  // The shape of Keylime 7.14.3's tpm2_tools_elparser.py failure when tpm2_eventlog exits non-zero.
  const eventlogError: VerifierFailure = {
    type: 'measured_boot.parser.tpm2_eventlog.error',
    context: { context: 'tpm2_eventlog exited with non-zero return code', code: 1, data: 'ERROR: bad log' },
  };
  const policyExample: VerifierFailure = {
    type: 'measured_boot.policy_example',
    context: { context: 'Boot attestation failed', refstate: "{'db': ['0xsecret']}", reason: "is not '0xsecret'" },
  };
  const pcr7: VerifierFailure = { type: 'pcr_validation.invalid_pcr_7', context: {} };
  const keylimeSaid = (failures: VerifierFailure[]) =>
    new VerifierError(
      'permission_denied',
      `keylime verifier https://10.0.0.1:8881/v2.6/verify/evidence refused the evidence: ${failures.map((f) => f.type).join('; ')}: Could not load`,
      { url: 'https://10.0.0.1:8881', failures },
    );

  test.each<[string, VerifierRefusalKind, unknown]>([
    ['libefivar missing', 'boot_log_unparsed', keylimeSaid([bootlogEnrich])],
    ['two parser failures', 'boot_log_unparsed', keylimeSaid([eventlogError, bootlogEnrich])],
    ['parser and policy failures (the boot was judged)', 'boot_policy', keylimeSaid([bootlogEnrich, policyExample])],
    ['policy failures only', 'boot_policy', keylimeSaid([policyExample])],
    [
      'our own refusal of an unsafe log',
      'boot_policy',
      keylimeSaid([{ type: 'measured_boot.device_path_malformed', context: {} }]),
    ],
    ['parser and PCR failures (the PCR verdict stands)', 'pcr_policy', keylimeSaid([bootlogEnrich, pcr7])],
    ['PCR failures only', 'pcr_policy', keylimeSaid([pcr7])],
    ['a refusal listing no failure', 'pcr_policy', keylimeSaid([])],
    [
      'a verifier that did not answer (keeps its Unavailable mapping)',
      'boot_policy',
      new VerifierError('unavailable', 'HTTP 500', { failures: [bootlogEnrich] }),
    ],
    ['not a verifier error', 'pcr_policy', new Error('measured_boot.parser.bootlog_enrich')],
  ])('%s: %s', (_, kind, err) => {
    expect(classifyVerifierRefusal(err)).toBe(kind);
  });

  test.each<[string, VerifierFailure[], string]>([
    ['libefivar missing', [bootlogEnrich], 'measured_boot.parser.bootlog_enrich'],
    [
      'two parser failures, each named once',
      [eventlogError, bootlogEnrich, eventlogError],
      'measured_boot.parser.tpm2_eventlog.error, measured_boot.parser.bootlog_enrich',
    ],
    ['a type that is not plain is not echoed', [{ type: 'measured_boot.parser.<b>', context: {} }], 'unnamed failure'],
  ])('%s: Unavailable, verifier_unavailable, the types to the caller', (_, failures, types) => {
    const said = keylimeSaid(failures);
    const err = bootLogUnparsedRefusal(said, '/etc/spire/mb.json');
    expect(err.code).toBe(Code.UNAVAILABLE);
    expect(err.reason).toBe('verifier_unavailable');
    expect(err.cause).toBe(said);
    expect(err.publicMessage).toBe(
      `boot policy verifier unavailable: the verifier's boot log parser failed (${types}); the boot was not judged`,
    );
    expect(err.message).toBe(
      `boot policy verifier unavailable: ${said.message} (reference state /etc/spire/mb.json); the verifier host may lack libefivar1 or tpm2-tools (docs/keylime.md)`,
    );
    // What SPIRE relays to the agent: the code and the public text, never Keylime's reason, URL or the state file.
    const relayed = forCaller(err);
    expect(relayed.code).toBe(Code.UNAVAILABLE);
    expect(relayed.message).toBe(err.publicMessage);
    expect(relayed.message).not.toMatch(/Could not load|10\.0\.0\.1|mb\.json/);
  });
});
