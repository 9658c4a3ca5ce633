import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigRepo, loadTreefile, BASEARCHES } from '../../src/config/index.js';
import { cli, FCOS } from './helpers.js';

const EXPECTED_PACKAGES: Record<string, number> = { x86_64: 146, aarch64: 144, ppc64le: 143, s390x: 139 };
const LOCK_COUNTS: Record<string, number> = { x86_64: 439, aarch64: 436, ppc64le: 432, s390x: 415 };

for (const arch of BASEARCHES) {
  test(`fedora-coreos-config flattens for ${arch}`, () => {
    const t = loadTreefile(join(FCOS, 'manifest.yaml'), { arch });
    const tf = t.treefile;
    assert.equal(tf.ref, `fedora/${arch}/coreos/testing-devel`);
    assert.equal(tf.basearch, arch);
    assert.equal(tf.releasever, 40);
    assert.deepEqual(tf.repos, ['fedora', 'fedora-updates']);
    assert.deepEqual(tf['lockfile-repos'], ['fedora-coreos-pool']);
    assert.equal(tf.packages.length, EXPECTED_PACKAGES[arch]);
    assert.deepEqual(tf.packages, [...tf.packages].sort(), 'packages are a sorted set');
    // Whitespace-split entries and arch-specific lists.
    for (const p of ['nano', 'nano-default-editor', 'kernel', 'ignition', 'bootupd', 'podman', 'clevis-luks', 'atheros-firmware']) assert.ok(tf.packages.includes(p), p);
    assert.ok(!tf.packages.some((p) => /\s/.test(p)));
    assert.equal(tf.packages.includes('grub2-efi-x64'), arch === 'x86_64');
    assert.equal(tf.packages.includes('/usr/sbin/zipl'), arch === 's390x');
    assert.equal(tf.packages.includes('irqbalance'), arch !== 's390x');
    assert.equal(tf.packages.includes('librtas'), arch === 'ppc64le');
    assert.ok(!tf.packages.includes('dnf5'), 'include-dnf.yaml is for releasever >= 41');
    // postprocess: last include first (bootupd is included after system-configuration… but
    // subtrees are prepended per include, so the deepest/last include's scripts run first).
    const pp = tf.postprocess!;
    assert.equal(pp.length, 10);
    assert.match(pp[0]!, /bootupctl backend generate-update-metadata/);
    assert.match(pp[pp.length - 1]!, /list_broken_symlinks_folders/);
    const idx = (re: RegExp) => pp.findIndex((s) => re.test(s));
    // fedora-coreos-base includes [… system-configuration, ignition-and-ostree, … bootupd …]:
    // each later include's scripts are prepended, so bootupd < ignition-and-ostree < system-configuration.
    assert.ok(idx(/bootupctl/) < idx(/systemctl preset-all/));
    assert.ok(idx(/systemctl preset-all/) < idx(/systemctl mask systemd-repart/));
    assert.ok(idx(/setsebool -P -N container_use_cephfs/) > idx(/bootupctl/));
    assert.ok(idx(/95-disable-on-dev.toml/) > idx(/setsebool/), 'includer scripts run after included ones');
    assert.deepEqual(tf['ostree-layers'], [
      'overlay/16disable-zincati',
      'overlay/07fix-selinux-labels',
      'overlay/05core',
      'overlay/08nouveau',
      'overlay/09misc',
      'overlay/20platform-chrony',
      'overlay/25azure-udev-rules',
      'overlay/30lvmdevices',
      'overlay/40grub',
      'overlay/15fcos',
    ]);
    assert.equal(tf['automatic-version-prefix'], '40.<date:%Y%m%d>.dev');
    assert.equal(tf['mutate-os-release'], '40');
    assert.equal(tf.rojig?.summary, 'Fedora CoreOS testing-devel');
    assert.deepEqual(tf['add-commit-metadata'], { 'fedora-coreos.stream': 'testing-devel' });
    assert.equal(tf.recommends, false);
    assert.equal(tf['boot-location'], 'modules');
    assert.deepEqual(tf['container-cmd'], ['/usr/bin/bash']);
    assert.ok(tf['exclude-packages']!.includes('dnf'));
    assert.equal(tf['remove-from-packages']!.some((e) => e[0] === 'grub2-tools'), arch !== 's390x');
    assert.deepEqual(tf['check-passwd'], { type: 'file', filename: 'passwd' });
    assert.equal(t.externals.passwd, join(FCOS, 'manifests', 'passwd'));
    assert.equal(t.externals.group, join(FCOS, 'manifests', 'group'));
    assert.deepEqual(t.variables, { basearch: arch, stream: 'testing-devel', prod: false, releasever: 40 });
  });

  test(`fedora-coreos-config loads as a ConfigRepo for ${arch}`, () => {
    const c = ConfigRepo.load(FCOS, { arch });
    assert.deepEqual(
      c.repos.map((r) => [r.id, r.lockfileRepo]),
      [
        ['fedora', false],
        ['fedora-updates', false],
        ['fedora-coreos-pool', true],
      ],
    );
    const fedora = c.repos[0]!;
    assert.deepEqual(fedora.baseurl, [
      `https://dl.fedoraproject.org/pub/fedora/linux/releases/40/Everything/${arch}/os/`,
      `https://dl.fedoraproject.org/pub/fedora-secondary/releases/40/Everything/${arch}/os/`,
    ]);
    assert.deepEqual(fedora.gpgkey, ['/usr/share/distribution-gpg-keys/fedora/RPM-GPG-KEY-fedora-40-primary']);
    assert.equal(fedora.gpgcheck, true);
    assert.equal(fedora.repoGpgcheck, false);
    assert.equal(fedora.skipIfUnavailable, false);
    assert.equal(fedora.priority, 99);
    assert.equal(fedora.cost, 1000);
    const pool = c.repos[2]!;
    assert.deepEqual(pool.baseurl, [`https://kojipkgs.fedoraproject.org/repos-dist/coreos-pool/latest/${arch}/`]);
    assert.equal(pool.skipIfUnavailable, true);
    assert.deepEqual(pool.gpgkey, []);

    // Lockfiles: base per-arch JSON, then the overrides YAML wins per package.
    assert.deepEqual(
      c.lockfile.files.map((f) => f.slice(FCOS.length + 1)),
      [`manifest-lock.${arch}.json`, 'manifest-lock.overrides.yaml'],
    );
    const base = JSON.parse(readFileSync(join(FCOS, `manifest-lock.${arch}.json`), 'utf8')) as { packages: Record<string, { evra: string }> };
    assert.equal(Object.keys(base.packages).length, LOCK_COUNTS[arch]);
    const ign = c.lockfile.packages.get('ignition')!;
    assert.equal(ign.evr, '2.20.0-1.fc40');
    assert.equal(ign.evra, undefined);
    assert.equal(c.lockfile.packages.get('podman')!.evr, '5:5.2.5-1.fc40');
    assert.equal(c.lockfile.packages.get('NetworkManager')?.evra, base.packages.NetworkManager!.evra);
    assert.ok(c.lockfile.packages.size >= LOCK_COUNTS[arch]!);
    assert.equal(c.lockfile.metadata?.rpmmd_repos?.['fedora-coreos-pool']?.generated !== undefined, true);

    // image.yaml includes image-base.yaml and lies over cosa's defaults.
    assert.equal(c.image!.config.size, 10);
    assert.equal(c.image!.config['ostree-remote'], 'fedora');
    assert.deepEqual(c.image!.config['extra-kargs'], ['mitigations=auto,nosmt']);
    assert.equal(c.image!.config.rootfs, 'xfs');
    assert.equal(c.image!.files.length, 2);

    assert.deepEqual(
      c.overlays.map((o) => o.name),
      ['05core', '07fix-selinux-labels', '08composefs', '08nouveau', '09misc', '15fcos', '16disable-zincati', '20platform-chrony', '25azure-udev-rules', '30lvmdevices'],
    );
    const core = c.overlays[0]!;
    assert.ok(core.statoverride.some((s) => s.path === '/etc/sudoers.d/coreos-sudo-group' && s.mode === 0o440 && s.op === '='));
    if (arch !== 's390x') assert.ok(Object.keys(c.platformsForArch()).length > 0);
    assert.ok(c.platforms?.aarch64?.aws?.kernel_arguments?.includes('console=ttyS0,115200n8'));
  });
}

test('coreforge manifest --json prints the flattened treefile with treefile key spellings', async () => {
  const r = await cli(['manifest', '--config', FCOS, '--arch', 'aarch64', '--json']);
  assert.equal(r.rc, 0, r.stderr);
  const j = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(j.ref, 'fedora/aarch64/coreos/testing-devel');
  assert.equal((j.packages as string[]).length, 144);
  for (const k of ['lockfile-repos', 'ostree-layers', 'exclude-packages', 'automatic-version-prefix', 'remove-from-packages', 'check-passwd']) assert.ok(k in j, k);
  for (const k of ['include', 'conditional-include', 'variables', 'packages-aarch64']) assert.ok(!(k in j), k);
  // $COREOS_ASSEMBLER_CONFIG_GIT picks the config when no --config is given.
  const r2 = await cli(['manifest', '--arch', 's390x', '--json'], { cwd: '/', env: { COREOS_ASSEMBLER_CONFIG_GIT: FCOS } });
  assert.equal(r2.rc, 0, r2.stderr);
  assert.equal((JSON.parse(r2.stdout) as { ref: string }).ref, 'fedora/s390x/coreos/testing-devel');
});
