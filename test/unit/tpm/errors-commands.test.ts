import * as E from '../../../tpm/errors';
import * as C from '../../../tpm/marshal/constants';
import { marshalCommand, unmarshalResponse, passwordAuth, policyAuth } from '../../../tpm/commands/execute';
import {
  TPM2_GetCapability,
  TPM2_Quote,
  TPM2_ActivateCredential,
  TPM2_NV_Read,
  TPM2_PCR_Read,
} from '../../../tpm/commands/definitions';
import { openTransport, parseTransportSpec } from '../../../tpm/transport/transport';
import { trimDer } from '../../../tpm/ek/ek';
import { pcrSelection } from '../../../tpm/types';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('decodeRc (Part 2 6.6)', () => {
  test.each([
    [0x18b, 'TPM_RC_HANDLE', E.TPM_RC_HANDLE, { handle: 1 }, 'one', false],
    [0x98e, 'TPM_RC_AUTH_FAIL', E.TPM_RC_AUTH_FAIL, { session: 1 }, 'one', false],
    [0x9a2, 'TPM_RC_BAD_AUTH', E.TPM_RC_BAD_AUTH, { session: 1 }, 'one', false],
    [0x2c4, 'TPM_RC_VALUE', E.TPM_RC_VALUE, { parameter: 2 }, 'one', false],
    [0x1d5, 'TPM_RC_SIZE', E.TPM_RC_SIZE, { parameter: 1 }, 'one', false],
    [0x28b, 'TPM_RC_HANDLE', E.TPM_RC_HANDLE, { handle: 2 }, 'one', false],
    [0x084, 'TPM_RC_VALUE', E.TPM_RC_VALUE, {}, 'one', false],
    [0x143, 'TPM_RC_COMMAND_CODE', E.TPM_RC_COMMAND_CODE, {}, 'zero', false],
    [0x146, 'TPM_RC_NV_RANGE', E.TPM_RC_NV_RANGE, {}, 'zero', false],
    [0x902, 'TPM_RC_OBJECT_MEMORY', E.TPM_RC_OBJECT_MEMORY, {}, 'zero', true],
    [0x922, 'TPM_RC_RETRY', E.TPM_RC_RETRY, {}, 'zero', true],
    [0x908, 'TPM_RC_YIELDED', E.TPM_RC_YIELDED, {}, 'zero', true],
    [0x90a, 'TPM_RC_TESTING', E.TPM_RC_TESTING, {}, 'zero', true],
    [0x911, 'TPM_RC_REFERENCE_H1', E.TPM_RC_REFERENCE_H0 + 1, {}, 'zero', true],
    [0x01e, 'TPM_RC_BAD_TAG', E.TPM_RC_BAD_TAG, {}, 'tpm12', false],
  ] as const)('0x%s is %s', (rc, name, code, where, format, warning) => {
    const d = E.decodeRc(rc);
    expect(d).toMatchObject({ rc, name, code, format, warning, ...where });
    const err = new E.TpmError(rc, 'TPM2_X');
    expect(err.is(code)).toBe(true);
    expect(err.codeName).toBe(name);
  });

  test('a resource-manager layer code names the layer', () => {
    expect(E.decodeRc(0x000b0902).name).toBe('TPM_RC_OBJECT_MEMORY (TSS layer 11)');
  });

  test('retryable warnings', () => {
    expect(new E.TpmError(0x922, 'x').retryable).toBe(true);
    expect(new E.TpmError(0x902, 'x').retryable).toBe(false);
    expect(new E.TpmError(0x18b, 'x').retryable).toBe(false);
  });

  test('messages name the handle or parameter when the command declares it', () => {
    expect(new E.TpmError(0x28b, 'TPM2_ActivateCredential', { handles: ['activateHandle', 'keyHandle'] }).message).toBe(
      'TPM2_ActivateCredential: TPM_RC_HANDLE (0x28b) on handle 2 (keyHandle)',
    );
  });
});

describe('command marshalling (Part 1 18)', () => {
  test('GetCapability: no sessions', () => {
    const b = marshalCommand(TPM2_GetCapability, {
      params: { capability: C.TPM_CAP_TPM_PROPERTIES, property: C.TPM_PT_NV_BUFFER_MAX, propertyCount: 1 },
    });
    expect(hex(b)).toBe('8001 00000016 0000017a 00000006 0000012c 00000001'.replace(/ /g, ''));
  });

  test('ActivateCredential: two handles, password + policy session authorizations', () => {
    // Handles go on the wire in the definition's order, whatever order the call names them in.
    const b = marshalCommand(TPM2_ActivateCredential, {
      handles: {
        keyHandle: { handle: 0x81010001, auth: policyAuth(0x03000000) },
        activateHandle: { handle: 0x80000001, auth: passwordAuth() },
      },
      params: { credentialBlob: bytes('aa'), secret: bytes('bbcc') },
    });
    expect(hex(b)).toBe(
      (
        '8002 0000002f 00000147 80000001 81010001 00000012' +
        ' 40000009 0000 00 0000' +
        ' 03000000 0000 01 0000' +
        ' 0001aa 0002bbcc'
      ).replace(/ /g, ''),
    );
  });

  test('a bare handle where an authorization is due means an empty password', () => {
    const named = marshalCommand(TPM2_ActivateCredential, {
      handles: { activateHandle: 0x80000001, keyHandle: 0x81010001 },
      params: { credentialBlob: bytes('aa'), secret: bytes('bbcc') },
    });
    const explicit = marshalCommand(TPM2_ActivateCredential, {
      handles: {
        activateHandle: { handle: 0x80000001, auth: passwordAuth() },
        keyHandle: { handle: 0x81010001, auth: passwordAuth() },
      },
      params: { credentialBlob: bytes('aa'), secret: bytes('bbcc') },
    });
    expect(hex(named)).toBe(hex(explicit));
  });

  const quoteParams = {
    qualifyingData: new Uint8Array(),
    inScheme: { scheme: C.TPM_ALG_NULL, details: undefined },
    PCRselect: [],
  };
  test.each([
    // The compiler refuses each of these (the casts stand for a caller outside TypeScript's checks).
    ['a missing handle', { params: quoteParams }, 'TPM2_Quote: handle signHandle is missing'],
    [
      'a handle of another command',
      { handles: { signHandle: 0x80000001, keyHandle: 1 }, params: quoteParams },
      'TPM2_Quote: no handle named keyHandle (expects signHandle)',
    ],
  ])('%s is refused before anything is sent', (_what, input, message) => {
    expect(() => marshalCommand(TPM2_Quote, input as never)).toThrow(new TypeError(message));
  });

  test('an authorization on a handle that takes none is refused', () => {
    const input = {
      handles: { authHandle: 0x01c00002, nvIndex: { handle: 0x01c00002, auth: passwordAuth() } },
      params: { size: 1, offset: 0 },
    };
    expect(() => marshalCommand(TPM2_NV_Read, input as never)).toThrow(
      new TypeError('TPM2_NV_Read: only authHandle takes an authorization'),
    );
  });

  test('handles are named at compile time: a swapped or misspelt name does not compile', () => {
    // @ts-expect-error objectHandle is not a TPM2_Quote handle (its one handle, signHandle, is missing)
    expect(() => marshalCommand(TPM2_Quote, { handles: { objectHandle: 0x80000001 }, params: quoteParams })).toThrow(
      TypeError,
    );
  });

  test('response: success with sessions (parameterSize, auth area), error code, bad tag, trailing bytes', () => {
    // PCR_Read has no sessions; use it for NO_SESSIONS parsing.
    const ok = bytes('8001 0000001c 00000000 00000005 00000001 000b 03 010000 00000001 0002 abcd'.replace(/ /g, ''));
    ok[5] = ok.length;
    const r = unmarshalResponse(TPM2_PCR_Read, ok, 0);
    expect(r.params.pcrUpdateCounter).toBe(5);
    expect(r.params.pcrValues.map(hex)).toEqual(['abcd']);
    expect(() => unmarshalResponse(TPM2_PCR_Read, bytes('8001 0000000a 0000018b'), 0)).toThrow(
      'TPM2_PCR_Read: TPM_RC_HANDLE (0x18b) on handle 1',
    );
    const bad = new Uint8Array(ok);
    bad[1] = 2;
    expect(() => unmarshalResponse(TPM2_PCR_Read, bad, 0)).toThrow(E.TpmResponseError);
    const trailing = new Uint8Array([...ok, 0]);
    trailing[5] = trailing.length;
    expect(() => unmarshalResponse(TPM2_PCR_Read, trailing, 0)).toThrow(/trailing bytes/);
  });
});

describe('transport specs (tpm2-tools TCTI syntax)', () => {
  test.each([
    ['', { kind: 'device', path: '/dev/tpmrm0' }],
    ['device:/dev/tpm0', { kind: 'device', path: '/dev/tpm0' }],
    ['device', { kind: 'device', path: '/dev/tpmrm0' }],
    ['swtpm:host=127.0.0.1,port=2321', { kind: 'swtpm', host: '127.0.0.1', port: 2321 }],
    ['swtpm:', { kind: 'swtpm', host: 'localhost', port: 2321 }],
    ['swtpm:path=/run/swtpm.sock', { kind: 'swtpm', path: '/run/swtpm.sock' }],
  ])('%j', (spec, parsed) => expect(parseTransportSpec(spec)).toEqual(parsed));

  test.each([
    ['mssim:host=x', 'unknown kind "mssim"'],
    ['swtpm:port=0', 'bad port'],
    ['swtpm:host=a,path=/x', 'path excludes host and port'],
    ['swtpm:bogus=1', 'unknown option "bogus"'],
    ['swtpm:host', 'expected key=value'],
  ])('%j is refused', (spec, msg) => expect(() => parseTransportSpec(spec)).toThrow(msg));
});

describe('EK certificate trimming', () => {
  test('trims padding after the DER SEQUENCE; refuses non-DER', () => {
    expect(hex(trimDer(bytes('3003 020101 ffffff'))!)).toBe('3003020101');
    expect(hex(trimDer(bytes('308200 03 020101 0000'))!)).toBe('30820003020101');
    expect(trimDer(bytes('3005 0201'))).toBeUndefined();
    expect(trimDer(bytes('ffff'))).toBeUndefined();
  });

  test('pcrSelection refuses PCRs beyond PCR_SELECT_MAX', () => {
    expect(() => pcrSelection(C.TPM_ALG_SHA256, [32])).toThrow(RangeError);
  });
});

describe('device transport', () => {
  test('a missing device fails with TpmUnavailableError naming the transport and the open error', async () => {
    const t = openTransport('device:/nonexistent/tpmrm9');
    const err = await t.send(new Uint8Array(10)).catch((e) => e);
    expect(err).toBeInstanceOf(E.TpmUnavailableError);
    expect(err.message).toBe('TPM device:/nonexistent/tpmrm9 unavailable: cannot open /nonexistent/tpmrm9: ENOENT');
    await t.close();
  });
});
