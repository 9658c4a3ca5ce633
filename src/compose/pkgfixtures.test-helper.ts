/**
 * Test helpers for the pkgcache / assemble / commit-rootfs tests: real RPMs
 * built with rpmbuild, the real `ostree` and `rpm` as peers.
 */
import { execFileSync } from 'node:child_process';
import { readRpmHeader } from '../rpm/file/index.js';
import type { SpecOptions } from '../rpm/testing/rpmbuild.js';
import type { ComposePackage } from './types.js';

export async function composePackage(rpmPath: string): Promise<ComposePackage> {
  const header = await readRpmHeader(rpmPath);
  return { nevra: header.nevra, name: header.name, evr: header.evr, arch: header.arch, rpmPath, header };
}

/** A package exercising every kind of entry rpm-ostree's importer handles. */
export function kitchenSinkSpec(o: Partial<SpecOptions> & { payloadBytes?: string } = {}): SpecOptions {
  return {
    name: 'tp-kitchen',
    version: '1.0',
    release: '1',
    install: [
      'mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/doc/tp-kitchen %{buildroot}/etc/tp %{buildroot}/usr/lib/tp/odd %{buildroot}/usr/lib/tp/sgid %{buildroot}/var/log',
      `printf '#!/bin/sh\\necho ${o.payloadBytes ?? 'hi'}\\n' > %{buildroot}/usr/bin/tp-suid`,
      'ln -s tp-suid %{buildroot}/usr/bin/tp-link',
      'ln -s /usr/lib/tp %{buildroot}/usr/bin/tp-abs-link',
      'echo hard > %{buildroot}/usr/lib/tp/h1 && ln %{buildroot}/usr/lib/tp/h1 %{buildroot}/usr/lib/tp/h2',
      'echo doc > %{buildroot}/usr/share/doc/tp-kitchen/README',
      'echo conf > %{buildroot}/etc/tp/tp.conf',
      'echo owned > %{buildroot}/etc/tp/owned',
      'echo secret > %{buildroot}/etc/tp/shadow',
      'touch %{buildroot}/etc/tp/empty',
      // more than the in-memory threshold: exercises the streamed write
      'head -c 1500000 /dev/zero | tr "\\0" "x" > %{buildroot}/usr/lib/tp/big',
    ].join('\n'),
    files: [
      '%attr(4755,root,root) /usr/bin/tp-suid',
      '/usr/bin/tp-link',
      '/usr/bin/tp-abs-link',
      '%dir /usr/lib/tp',
      '/usr/lib/tp/h1',
      '/usr/lib/tp/h2',
      '/usr/lib/tp/big',
      '%dir %attr(0750,root,root) /usr/lib/tp/odd',
      '%dir %attr(2775,root,bin) /usr/lib/tp/sgid',
      '%doc /usr/share/doc/tp-kitchen/README',
      '%dir /etc/tp',
      '%config(noreplace) /etc/tp/tp.conf',
      '%attr(0640,bin,daemon) /etc/tp/owned',
      '%attr(0000,root,root) /etc/tp/shadow',
      '/etc/tp/empty',
      '%ghost %attr(0600,root,root) /var/log/tp.log',
    ],
    ...o,
  };
}

export interface DumpEntry {
  path: string;
  size: number;
  digest: string;
  mode: number;
  owner: string;
  group: string;
  doc: boolean;
  ghost: boolean;
  link: string;
}

/** `rpm -qp --dump` plus the ghost flag (dump does not show it). */
export function rpmDump(rpm: string): DumpEntry[] {
  const env = { ...process.env, LC_ALL: 'C' };
  const dump = execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--dump', rpm], { env }).toString().trim().split('\n');
  const ghosts = new Set(
    execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', '[%{FILEFLAGS:fflags} %{FILENAMES}\\n]', rpm], { env })
      .toString()
      .trim()
      .split('\n')
      .filter((l) => l.split(' ')[0]!.includes('g'))
      .map((l) => l.slice(l.indexOf(' ') + 1)),
  );
  return dump.map((l) => {
    // path size mtime digest mode owner group isconfig isdoc rdev symlink
    const f = l.split(' ');
    return {
      path: f[0]!,
      size: Number(f[1]),
      digest: f[3]!,
      mode: parseInt(f[4]!, 8),
      owner: f[5]!,
      group: f[6]!,
      doc: f[8] === '1',
      ghost: ghosts.has(f[0]!),
      link: f[10] ?? 'X',
    };
  });
}

export interface LsEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  target?: string;
}

/** `ostree ls -R` of a commit as path → entry. */
export function ostreeLs(repo: string, rev: string, extra: string[] = []): Map<string, LsEntry> {
  const out = new Map<string, LsEntry>();
  const text = execFileSync('ostree', [`--repo=${repo}`, 'ls', '-R', ...extra, rev]).toString();
  for (const line of text.split('\n')) {
    const m = /^([-dl])([0-7]{5}) (\d+) (\d+)\s+(\d+) (\S+)(?: -> (.*))?/.exec(line);
    if (!m) continue;
    out.set(m[6]!, { type: m[1]!, mode: parseInt(m[2]!, 8), uid: Number(m[3]), gid: Number(m[4]), size: Number(m[5]), ...(m[7] !== undefined ? { target: m[7] } : {}) });
  }
  return out;
}

export function ostree(repo: string, ...args: string[]): string {
  return execFileSync('ostree', [`--repo=${repo}`, ...args], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();
}
