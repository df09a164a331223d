import { describe, expect, it } from 'vitest';
import { rootFromConfigText } from '../../src/storage/registry-config.js';

const cfg = (storage: string): string => `version: 0.1\nstorage:\n${storage}\nhttp:\n  addr: :5000\n`;

describe('registry config', () => {
  it('reads storage.filesystem.rootdirectory', () => {
    expect(
      rootFromConfigText(cfg('  cache:\n    blobdescriptor: inmemory\n  filesystem:\n    rootdirectory: /data/reg\n  delete:\n    enabled: true'), 'c.yml', {}),
    ).toBe('/data/reg');
  });

  it('defaults the rootdirectory as the filesystem driver does', () => {
    expect(rootFromConfigText(cfg('  filesystem: {}'), 'c.yml', {})).toBe('/var/lib/registry');
  });

  it('honours REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY over the file', () => {
    expect(rootFromConfigText(cfg('  filesystem:\n    rootdirectory: /data/reg'), 'c.yml', { REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY: '/env/root' })).toBe(
      '/env/root',
    );
  });

  it('refuses another storage driver, naming it', () => {
    expect(() => rootFromConfigText(cfg('  s3:\n    bucket: b\n  delete:\n    enabled: true'), 'c.yml', {})).toThrow(
      /uses the s3 storage driver; only filesystem/,
    );
    expect(() => rootFromConfigText(cfg('  filesystem:\n    rootdirectory: /x'), 'c.yml', { REGISTRY_STORAGE: 'gcs' })).toThrow(/gcs storage driver/);
  });

  it('refuses a config that is not YAML or names no driver', () => {
    expect(() => rootFromConfigText('storage: [', 'c.yml', {})).toThrow(/cannot parse registry config c.yml/);
    expect(() => rootFromConfigText('version: 0.1\n', 'c.yml', {})).toThrow(/names no storage driver/);
  });
});

describe('reading the registry config file', () => {
  it('refuses a directory before reading it, as a config error naming what it is', async () => {
    const { Volume } = await import('memfs');
    const { rootFromConfigFile } = await import('../../src/storage/registry-config.js');
    const fs = new Volume();
    fs.mkdirSync('/etc/registry', { recursive: true });
    expect(() => rootFromConfigFile(fs as never, '/etc/registry', {})).toThrow(
      'cannot read registry config /etc/registry: it is a directory, not a regular file',
    );
    fs.writeFileSync('/etc/registry/config.yml', 'storage:\n  filesystem:\n    rootdirectory: /data\n');
    expect(rootFromConfigFile(fs as never, '/etc/registry/config.yml', {})).toBe('/data');
  });
});
