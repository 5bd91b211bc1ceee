import { spawn } from 'node:child_process';
import { createVerify, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSwtpm, type Swtpm } from '../helpers/swtpm';
import { openTpm } from '../../tpm/client';
import * as C from '../../tpm/marshal/constants';
import { execute, NULL_SIG_SCHEME, TPM2_Certify, TPM2_GetRandom } from '../../tpm/commands';
import { withAkHandle } from '../../tpm/ak/ak';
import { objectName } from '../../tpm/ek/ek';
import { publicToKeyObject } from '../../tpm/crypto/public-key';
import { openTransport } from '../../tpm/transport/transport';

jest.setTimeout(120000);
let s: Swtpm;
beforeAll(() => {
  s = startSwtpm();
});
afterAll(() => s?.stop());

test('TPM2_Certify: the AK certifies itself; the attest names the AK and the RSASSA signature verifies', async () => {
  const tpm = openTpm(s.transportSpec);
  try {
    const ak = await tpm.loadOrCreateAk(mkdtempSync(join(tmpdir(), 'certify-')), 'rsa');
    const nonce = randomBytes(20);
    const c = (
      await withAkHandle(tpm.transport, ak, (h) =>
        execute(tpm.transport, TPM2_Certify, {
          handles: { objectHandle: h, signHandle: h },
          params: { qualifyingData: nonce, inScheme: NULL_SIG_SCHEME },
        }),
      )
    ).params;
    const attested = c.certifyInfo.value;
    if (attested.type !== C.TPM_ST_ATTEST_CERTIFY) throw new Error('not a certify attest');
    expect(
      Buffer.from(attested.attested.name).equals(Buffer.from(objectName(ak.public.value.nameAlg, ak.public.bytes))),
    ).toBe(true);
    expect(Buffer.from(attested.extraData).equals(nonce)).toBe(true);
    const sig = c.signature.value;
    if (sig.sigAlg !== C.TPM_ALG_RSASSA) throw new Error('not RSASSA');
    const ok = createVerify('sha256')
      .update(c.certifyInfo.bytes)
      .verify(publicToKeyObject(ak.public.value), Buffer.from(sig.signature.sig));
    expect(ok).toBe(true);
    expect(await tpm.loadedCounts()).toEqual({ transient: 0, sessions: 0 });
  } finally {
    await tpm.close();
  }
});

test('swtpm:path=SOCKET (unix socket data channel) carries commands', async () => {
  // Serve the same TPM state over a unix socket instead of TCP for this test.
  s.stop({ keep: true });
  const sock = join(s.dir, 'tpm.sock');
  const p = spawn(
    'swtpm',
    [
      'socket',
      '--tpm2',
      '--tpmstate',
      `dir=${join(s.dir, 'state')}`,
      '--server',
      `type=unixio,path=${sock}`,
      '--flags',
      'not-need-init,startup-clear',
    ],
    {
      stdio: 'ignore',
    },
  );
  try {
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const t = openTransport(`swtpm:path=${sock}`);
    expect((await execute(t, TPM2_GetRandom, { params: { bytesRequested: 8 } })).params.randomBytes.length).toBe(8);
    await t.close();
  } finally {
    p.kill();
    await new Promise((r) => p.once('exit', r));
    s.restart();
  }
  // and the TCP fixture is back
  const t = openTransport(s.transportSpec);
  expect((await execute(t, TPM2_GetRandom, { params: { bytesRequested: 8 } })).params.randomBytes.length).toBe(8);
  await t.close();
});
