import { RpmFormatError } from './errors.js';

export const LEAD_SIZE = 96;
const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);
/** Lead signature_type meaning "a header-style signature follows" (RPMSIGTYPE_HEADERSIG). */
const SIGTYPE_HEADERSIG = 5;

/** The 96-byte legacy lead. Only magic, version, type and signature type are meaningful today. */
export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  archnum: number;
  name: string;
  osnum: number;
  signatureType: number;
}

export function parseLead(buf: Buffer, pkg: string): RpmLead {
  if (buf.length < LEAD_SIZE) throw new RpmFormatError(pkg, `lead: truncated (${buf.length} of ${LEAD_SIZE} bytes)`);
  if (!buf.subarray(0, 4).equals(LEAD_MAGIC)) throw new RpmFormatError(pkg, 'lead: not an RPM file (bad magic)');
  const major = buf[4]!;
  if (major !== 3 && major !== 4) throw new RpmFormatError(pkg, `lead: unsupported RPM format version ${major}`);
  const nameEnd = buf.indexOf(0, 10);
  const name = buf.toString('latin1', 10, nameEnd < 0 || nameEnd > 76 ? 76 : nameEnd);
  const signatureType = buf.readUInt16BE(78);
  if (signatureType !== SIGTYPE_HEADERSIG) throw new RpmFormatError(pkg, `lead: unsupported signature type ${signatureType}`);
  return { major, minor: buf[5]!, type: buf.readUInt16BE(6), archnum: buf.readUInt16BE(8), name, osnum: buf.readUInt16BE(76), signatureType };
}
