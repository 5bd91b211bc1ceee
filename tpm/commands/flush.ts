// Releasing a transient object or session when the caller's own error matters more (TPM2_FlushContext, Part 3 28.4).
import { TPM2_FlushContext } from './definitions';
import { execute, type TpmSender } from './execute';

/** Flushes `handle` (nothing for undefined), swallowing errors: for finally blocks. */
export async function flushQuietly(tpm: TpmSender, handle: number | undefined): Promise<void> {
  if (handle === undefined) return;
  try {
    await execute(tpm, TPM2_FlushContext, { params: { flushHandle: handle } });
  } catch {
    // Already gone (e.g. the TPM restarted) or the TPM is unreachable: nothing more to do here.
  }
}
