import { UsageError } from '../errors.js';

export const BASEARCHES = ['x86_64', 'aarch64', 'ppc64le', 's390x'] as const;

/** rpm basearch of this host (what rpm-ostree composes for). */
export function hostBasearch(): string {
  switch (process.arch) {
    case 'x64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    case 'ppc64':
      return 'ppc64le';
    case 's390x':
      return 's390x';
    case 'riscv64':
      return 'riscv64';
    default:
      return process.arch;
  }
}

export function checkArch(arch: string): string {
  if (!/^[a-z0-9_]+$/.test(arch)) throw new UsageError(`invalid architecture '${arch}' (expected e.g. ${BASEARCHES.join(', ')})`);
  return arch;
}
