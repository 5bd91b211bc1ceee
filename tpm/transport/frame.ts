// Response framing shared by the transports.
import { TpmUnavailableError } from '../errors';

/** Reads the response header's size field and checks it against the bounds (10 .. maxResponseSize). */
export function responseSize(header: Uint8Array, maxResponseSize: number, name: string): number {
  const size = ((header[2] << 24) | (header[3] << 16) | (header[4] << 8) | header[5]) >>> 0;
  if (size < 10) throw new TpmUnavailableError(name, `response header size ${size} is below 10`);
  if (size > maxResponseSize)
    throw new TpmUnavailableError(name, `response size ${size} exceeds the maximum ${maxResponseSize}`);
  return size;
}
