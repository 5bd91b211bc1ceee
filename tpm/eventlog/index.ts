// Measured boot from the TCG event log: parse (bounded), replay against quoted PCRs, read boot facts from the
// verified PCRs, derive selectors, evaluate a boot policy. Pure: bytes in, result objects out.
export {
  EventLogError,
  EVENT_LOG_MALFORMED_CODES,
  EVENT_LOG_REJECTED_CODES,
  type EventLogErrorCode,
  type EventLogErrorDetail,
} from './errors';
export { MAX_EVENT_LOG_BYTES, MAX_EVENTS, MAX_EVENT_DATA_BYTES, MAX_BANKS, renderEventLogLimits } from './limits';
export { parseEventLog, type EventLog, type LogEvent, type SpecIdEvent } from './parse';
export {
  replayEventLog,
  verifyEventLog,
  PLATFORM_FIRMWARE_PCRS,
  type PcrSet,
  type VerifiedEventLog,
  type VerifyEventLogOptions,
} from './replay';
export { extractBootFacts, type BootFacts, type SecureBootFacts, type MeasuredFile, type Digests } from './facts';
export { bootSelectors, BOOT_SELECTOR_TYPES, renderBootSelectorTable, type BootSelectorType } from './selectors';
export {
  parseBootPolicy,
  evaluateBootPolicy,
  bootPolicyFromFacts,
  MAX_BOOT_POLICY_BYTES,
  type BootPolicy,
  type BootPolicyRule,
} from './policy';
export { eventTypeName } from './constants';
export { encodeEventLog, createEventLog, type NewEvent } from './write';
export { UefiVariableData } from './structures';
export { guidString, EFI_GLOBAL_VARIABLE, EFI_IMAGE_SECURITY_DATABASE } from './uefi';
export * as EV from './constants';
