// TCG PC Client PFP 1.05 (10.2, 10.4.5) event-log records, declared once as codecs. Unlike TPM structures
// these are little-endian (the firmware writes them in host order on a little-endian platform).
import { Codec, fixedBytes, list, Reader, sizedU8Bytes, struct, u8, Writer, type CodecType } from '../marshal/codec';
import { EventLogError } from './errors';
import { MAX_BANKS, MAX_EVENT_DATA_BYTES } from './limits';

function leUint(bytes: 2 | 4): Codec<number> {
  const max = 2 ** (bytes * 8) - 1;
  return {
    encode(w: Writer, v: number) {
      if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${v} is not a uint${bytes * 8}`);
      const b = new Uint8Array(bytes);
      if (bytes === 2) new DataView(b.buffer).setUint16(0, v, true);
      else new DataView(b.buffer).setUint32(0, v, true);
      w.bytes(b);
    },
    decode(r: Reader) {
      const b = r.bytesOf(bytes);
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      return bytes === 2 ? view.getUint16(0, true) : view.getUint32(0, true);
    },
  };
}

/** UINT16 / UINT32, little-endian. */
export const le16: Codec<number> = leUint(2);
export const le32: Codec<number> = leUint(4);

/**
 * A UINT32 size (little-endian) then that many bytes: the event data of every record. A size over
 * MAX_EVENT_DATA_BYTES is EVENT_LOG_TOO_LARGE, a size over what is left is a truncation; both before any copy.
 */
export const eventData: Codec<Uint8Array> = {
  encode(w, v) {
    le32.encode(w, v.length);
    w.bytes(v);
  },
  decode(r) {
    const size = le32.decode(r);
    if (size > MAX_EVENT_DATA_BYTES)
      throw new EventLogError(
        'EVENT_LOG_TOO_LARGE',
        `event data of ${size} bytes exceeds the maximum ${MAX_EVENT_DATA_BYTES} (at byte ${r.offset})`,
      );
    return r.bytesOf(size);
  },
};

/** TCG_PCClientPCREvent (PFP 10.2.1): the SHA-1 record of legacy logs and the first record of crypto-agile ones. */
export const TcgPcClientPcrEvent = struct({
  pcrIndex: le32,
  eventType: le32,
  digest: fixedBytes(20),
  event: eventData,
});
export type TcgPcClientPcrEvent = CodecType<typeof TcgPcClientPcrEvent>;

/** TCG_EfiSpecIdEventAlgorithmSize (PFP 10.4.5.1). */
export const TcgEfiSpecIdEventAlgorithmSize = struct({ algorithmId: le16, digestSize: le16 });

/** TCG_EfiSpecIDEventStruct (PFP 10.4.5.1): the data of the first event of a crypto-agile log. */
export const TcgEfiSpecIdEvent = struct({
  signature: fixedBytes(16),
  platformClass: le32,
  specVersionMinor: u8,
  specVersionMajor: u8,
  specErrata: u8,
  uintnSize: u8,
  digestSizes: list(TcgEfiSpecIdEventAlgorithmSize, MAX_BANKS, le32),
  vendorInfo: sizedU8Bytes(255),
});

/** TPMT_HA as the log writes it (PFP 10.2.2): hash algorithm, then a digest of the size the Spec ID event gives it. */
export interface LogDigest {
  hashAlg: number;
  digest: Uint8Array;
}

function logDigest(sizes: ReadonlyMap<number, number>): Codec<LogDigest> {
  return {
    encode(w, v) {
      le16.encode(w, v.hashAlg);
      w.bytes(v.digest);
    },
    decode(r) {
      const hashAlg = le16.decode(r);
      const size = sizes.get(hashAlg);
      if (size === undefined)
        return r.fail(`hash algorithm 0x${hashAlg.toString(16).padStart(4, '0')} is not in the Spec ID event`);
      return { hashAlg, digest: r.bytesOf(size) };
    },
  };
}

/** TCG_PCR_EVENT2 (PFP 10.2.2) for the digest sizes a log's Spec ID event declares. */
export function tcgPcrEvent2(sizes: ReadonlyMap<number, number>) {
  return struct({
    pcrIndex: le32,
    eventType: le32,
    digests: list(logDigest(sizes), MAX_BANKS, le32),
    event: eventData,
  });
}

/** UEFI_VARIABLE_DATA (PFP 10.4.3 / UEFI): the data of EV_EFI_VARIABLE_* events. */
export interface UefiVariableData {
  variableName: Uint8Array;
  /** The UTF-16LE name decoded (e.g. `SecureBoot`, `db`). */
  unicodeName: string;
  variableData: Uint8Array;
}

/** UEFI_VARIABLE_DATA codec: GUID, UINT64 name length (characters), UINT64 data length, name, data. */
export const UefiVariableData: Codec<UefiVariableData> = {
  encode(w, v) {
    w.bytes(v.variableName);
    const name = Buffer.from(v.unicodeName, 'utf16le');
    const n = new Uint8Array(16);
    const view = new DataView(n.buffer);
    view.setBigUint64(0, BigInt(name.length / 2), true);
    view.setBigUint64(8, BigInt(v.variableData.length), true);
    w.bytes(n);
    w.bytes(name);
    w.bytes(v.variableData);
  },
  decode(r) {
    const variableName = r.bytesOf(16);
    const lens = r.bytesOf(16);
    const view = new DataView(lens.buffer, lens.byteOffset, 16);
    const nameLen = view.getBigUint64(0, true);
    const dataLen = view.getBigUint64(8, true);
    // Both lengths are bounded by the event data this reader covers, checked before the copies.
    if (nameLen * 2n > BigInt(r.remaining)) r.fail(`UnicodeNameLength ${nameLen} exceeds the event data`);
    const name = r.bytesOf(Number(nameLen) * 2);
    if (dataLen > BigInt(r.remaining)) r.fail(`VariableDataLength ${dataLen} exceeds the event data`);
    const variableData = r.bytesOf(Number(dataLen));
    return { variableName, unicodeName: Buffer.from(name).toString('utf16le'), variableData };
  },
};
