/**
 * RPM file reader: lead, signature header, main header (typed model), payload
 * (streamed cpio under gzip/xz/zstd/bzip2) and integrity/signature checks.
 */
export { Tag, SigTag, HeaderTag, TagType, Sense, FileFlag, ScriptFlag, DigestAlgo } from './tags.js';
export { HeaderBlob, type IndexEntry } from './blob.js';
export { parseLead, type RpmLead, LEAD_SIZE } from './lead.js';
export {
  RpmHeader,
  SignatureHeader,
  decodeDependency,
  formatDependency,
  decodeFileFlags,
  fileTypeOfMode,
  type Dependency,
  type DepKind,
  type FileFlags,
  type FileType,
  type RpmFileInfo,
  type Scriptlet,
  type ScriptletKind,
  type Trigger,
  type TriggerType,
} from './model.js';
export { readRpmHeaders, readRpmHeader, readRpmHeadersFromStream, sigPadding, type RpmPackageHeaders, type RpmLayout, type RpmStreamHeaders } from './reader.js';
export { RpmFormatError, RpmDigestError, RpmUnsafePathError, RpmSignatureError } from './errors.js';
export { openPayload, readPayloadSync, normaliseArchivePath, type PayloadEntry, type SyncPayloadEntry, type OpenPayloadOptions } from './payload.js';
export { extractTo, type ExtractOptions, type ExtractResult } from './extract.js';
export { newcEntry, newcTrailer } from './cpio.js';
export { verifyRpm, type VerifyOptions, type VerifyResult, type SignatureCheck } from './verify.js';
