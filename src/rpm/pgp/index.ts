/** In-process OpenPGP for rpm: armored key files, v4 keys/subkeys, v3/v4 signatures (RSA, EdDSA). */
export { dearmor, crc24, type ArmorBlock } from './armor.js';
export { parsePackets, PacketTag, type Packet } from './packets.js';
export { PgpSignature, PubkeyAlgo, HashAlgo, type SignatureSubpackets } from './signature.js';
export { PgpPublicKey, PgpKeyring, type PgpCertificate } from './keys.js';
export { verifyDigestSignature, hashSignedData, signedDataHasher } from './verify.js';
export { PgpFormatError, PgpVerifyError } from './errors.js';
