import { dirname, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { SourceDoc, typeName, type KeyPath } from './source.js';

/**
 * cosa's image.yaml (disk image settings), flattened like cosalib
 * `flatten_image_yaml` and laid over cosa's image-default.yaml.
 */
export interface ImageConfig {
  size?: number;
  'extra-kargs': string[];
  'ignition-network-kcmdline'?: string[];
  'ostree-remote'?: string;
  bootfs: string;
  rootfs: string;
  'rootfs-args': string;
  composefs: boolean;
  'ostree-format': string;
  'deploy-via-container': boolean;
  'container-imgref'?: string;
  'squashfs-compression': string;
  compressor?: string;
  'platform-compressor'?: Record<string, string>;
  'sysroot-readonly'?: boolean;
  'vmware-os-type'?: string;
  'vmware-hw-version'?: number;
  [key: string]: unknown;
}

export interface LoadedImage {
  config: ImageConfig;
  /** image.yaml and each file it included, in include order. */
  files: string[];
  /** Keys we do not know (cosa ignores them; `check` reports them). */
  unknownKeys: { file: string; key: string; where: string }[];
}

/** cosa src/image-default.yaml (7fe8cd4); the flattened image.yaml is laid over it key by key. */
export const IMAGE_DEFAULTS = {
  bootfs: 'ext4',
  rootfs: 'xfs',
  'rootfs-args': '',
  composefs: false,
  'extra-kargs': [] as string[],
  'ostree-format': 'oci-chunked-v1',
  'ostree-container-inject-openshift-cvo-labels': false,
  'deploy-via-container': false,
  'squashfs-compression': 'zstd',
  'vmware-hw-version': 13,
  'vmware-os-type': 'rhel7_64Guest',
  'vmware-secure-boot': true,
  'aws-imdsv2-only': true,
  'aws-volume-type': 'gp3',
  'aws-x86-boot-mode': 'uefi-preferred',
};

type Kind = 'string' | 'int' | 'bool' | 'strings' | 'strmap';
const KNOWN: Record<string, Kind> = {
  size: 'int',
  'extra-kargs': 'strings',
  'ignition-network-kcmdline': 'strings',
  'ostree-remote': 'string',
  bootfs: 'string',
  rootfs: 'string',
  'rootfs-args': 'string',
  composefs: 'bool',
  'ostree-format': 'string',
  'deploy-via-container': 'bool',
  'container-imgref': 'string',
  'squashfs-compression': 'string',
  compressor: 'string',
  'platform-compressor': 'strmap',
  'sysroot-readonly': 'bool',
  'vmware-os-type': 'string',
  'vmware-hw-version': 'int',
  'vmware-secure-boot': 'bool',
  'aws-imdsv2-only': 'bool',
  'aws-volume-type': 'string',
  'aws-x86-boot-mode': 'string',
  'grub-script': 'string',
  'ostree-container-inject-openshift-cvo-labels': 'bool',
  'live-rootfs-fstype': 'string',
  'live-rootfs-fsoptions': 'string',
};

function check(doc: SourceDoc, key: string, v: unknown, kind: Kind): void {
  const at: KeyPath = [key];
  const ok =
    kind === 'string'
      ? typeof v === 'string'
      : kind === 'int'
        ? typeof v === 'number' && Number.isInteger(v) && v >= 0
        : kind === 'bool'
          ? typeof v === 'boolean'
          : kind === 'strings'
            ? Array.isArray(v) && v.every((x) => typeof x === 'string')
            : v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
  const want = { string: 'a string', int: 'a non-negative integer', bool: 'a boolean', strings: 'a list of strings', strmap: 'a mapping of strings' }[kind];
  if (!ok) doc.fail(at, `expected ${want}, found ${typeName(v)}`);
}

/**
 * cosalib merge_dicts: keys in one map only are taken as they are; maps merge
 * recursively; lists are the includer's followed by the included items it
 * does not already have; any other value: the includer's.
 */
function mergeDeep(x: Record<string, unknown>, y: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const d of [x, y])
    for (const k of Object.keys(d)) {
      if (!(k in x) || !(k in y)) out[k] = d[k];
      else {
        const a = x[k];
        const b = y[k];
        if (isMap(a) && isMap(b)) out[k] = mergeDeep(a, b);
        else if (Array.isArray(a) && Array.isArray(b)) out[k] = [...a, ...b.filter((i) => !a.some((j) => JSON.stringify(j) === JSON.stringify(i)))];
        else out[k] = a;
      }
    }
  return out;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function loadImageYaml(file: string): LoadedImage {
  const files: string[] = [];
  const unknownKeys: LoadedImage['unknownKeys'] = [];
  const read = (f: string, depth: number, from?: { doc: SourceDoc }): Record<string, unknown> => {
    if (files.includes(f)) throw new ConfigError(`${from?.doc.where(['include']) ?? f}: include: include loop: ${f} was already included`);
    if (depth > 50) throw new ConfigError(`${f}: include: too deeply nested`);
    files.push(f);
    let doc: SourceDoc;
    try {
      doc = SourceDoc.read(f, 'image config');
    } catch (e) {
      if (from && e instanceof ConfigError && / not found$/.test(e.message)) from.doc.fail(['include'], `included file ${f} not found`);
      throw e;
    }
    const v = doc.value;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) doc.fail([], `expected a mapping, found ${typeName(v)}`);
    const m = { ...(v as Record<string, unknown>) };
    for (const [k, x] of Object.entries(m)) {
      if (k === 'include') {
        if (typeof x !== 'string') doc.fail([k], `expected a single file name, found ${typeName(x)}`);
        continue;
      }
      const kind = KNOWN[k];
      if (kind) check(doc, k, x, kind);
      else unknownKeys.push({ file: f, key: k, where: doc.where([k], 'key') });
    }
    const inc = m.include as string | undefined;
    delete m.include;
    if (inc === undefined) return m;
    return mergeDeep(m, read(resolve(dirname(f), inc), depth + 1, { doc }));
  };
  const flat = read(resolve(file), 0);
  return { config: { ...IMAGE_DEFAULTS, ...flat } as ImageConfig, files, unknownKeys };
}
