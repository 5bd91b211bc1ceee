// Counting the commands sent to a TPM (by command code), to measure what one attestation costs a TPM
// where each command can take a second (a discrete TPM deriving a primary key takes up to twenty).
import * as C from '../marshal/constants';
import type { TpmSender } from './execute';

/** Commands sent through a counting sender: all of them, and TPM2_CreatePrimary (the slow one) apart. */
export interface CommandCounts {
  total: number;
  createPrimary: number;
}

/** A sender that forwards to `inner` and counts each command sent (retries included: the TPM saw them). */
export function countingSender(inner: TpmSender): TpmSender & { counts(): CommandCounts } {
  const counts: CommandCounts = { total: 0, createPrimary: 0 };
  return {
    send(command, options) {
      counts.total++;
      // Command header: tag u16, size u32, commandCode u32 (Part 1 18.2).
      if (command.length >= 10 && Buffer.from(command).readUInt32BE(6) === C.TPM_CC_CreatePrimary)
        counts.createPrimary++;
      return inner.send(command, options);
    },
    counts: () => ({ ...counts }),
  };
}
