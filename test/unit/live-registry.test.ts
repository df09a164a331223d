// The live-registry guard, offline: config facts (addr forms, TLS, read-only,
// the REGISTRY_* overrides as Distribution 2.8 applies them), the URLs
// derived from them, and the refusal text. Probes: registry-probe.test.ts.

import { describe, expect, it } from 'vitest';
import { JanitorError } from '../../src/errors.js';
import { describeLiveRefusal } from '../../src/storage/live-registry.js';
import { type RegistryFacts, readRegistryFacts } from '../../src/storage/registry-facts.js';
import { probeRegistryUrls } from '../../src/storage/registry-probe.js';

const STORAGE = 'storage:\n  filesystem:\n    rootdirectory: /data\n';
const facts = (text: string, env: NodeJS.ProcessEnv = {}): RegistryFacts => readRegistryFacts(`version: 0.1\n${text}`, 'c.yml', env);
const RO = 'storage:\n  filesystem:\n    rootdirectory: /data\n  maintenance:\n    readonly:\n      enabled: true\n';

describe('readRegistryFacts', () => {
  it('reads http.addr, net, prefix and TLS', () => {
    expect(facts(`${STORAGE}http:\n  addr: :5000\n`)).toEqual({
      file: 'c.yml',
      httpAddr: ':5000',
      httpNet: 'tcp',
      httpPrefix: '',
      tls: false,
      readOnly: false,
    });
    expect(facts(`${STORAGE}http:\n  addr: "[::]:5000"\n  prefix: /reg/\n`)).toMatchObject({ httpAddr: '[::]:5000', httpPrefix: '/reg/' });
    expect(facts(`${STORAGE}http:\n  addr: /run/registry.sock\n  net: unix\n`)).toMatchObject({ httpAddr: '/run/registry.sock', httpNet: 'unix' });
    expect(facts(`${STORAGE}http:\n  addr: :443\n  tls:\n    certificate: /c.pem\n    key: /k.pem\n`).tls).toBe(true);
    expect(facts(`${STORAGE}http:\n  addr: :443\n  tls:\n    letsencrypt:\n      cachefile: /le.json\n`).tls).toBe(true);
    expect(facts(`${STORAGE}http:\n  addr: :5000\n  tls:\n    certificate: ""\n`).tls).toBe(false);
  });

  it('leaves the address unset when the config has none (or an empty one)', () => {
    expect(facts(STORAGE).httpAddr).toBeUndefined();
    expect(facts(`${STORAGE}http:\n  addr: ""\n`).httpAddr).toBeUndefined();
    expect(readRegistryFacts('', 'c.yml', {})).toMatchObject({ httpAddr: undefined, readOnly: false, tls: false });
  });

  it('reads read-only mode: only a map whose enabled is the boolean true (YAML 1.1 booleans included)', () => {
    expect(facts(RO).readOnly).toBe(true);
    expect(facts(RO.replace('true', 'false')).readOnly).toBe(false);
    expect(facts(RO.replace('true', 'yes')).readOnly).toBe(true); // gopkg.in/yaml.v2: yes/on/y are true
    expect(facts(RO.replace('true', 'on')).readOnly).toBe(true);
    expect(facts(RO.replace('true', '"true"')).readOnly).toBe(false); // the registry panics on a string
    expect(facts(`${STORAGE}  maintenance:\n    readonly: true\n`).readOnly).toBe(false); // panics too
    expect(facts(`${STORAGE}  maintenance:\n    uploadpurging:\n      enabled: false\n`).readOnly).toBe(false);
    expect(facts(STORAGE).readOnly).toBe(false);
    expect(facts('storage: filesystem\n').readOnly).toBe(false);
  });

  it('applies REGISTRY_HTTP_* overrides', () => {
    const base = `${STORAGE}http:\n  addr: :5000\n`;
    expect(facts(base, { REGISTRY_HTTP_ADDR: '127.0.0.1:6000' }).httpAddr).toBe('127.0.0.1:6000');
    expect(facts(base, { REGISTRY_HTTP_NET: 'unix', REGISTRY_HTTP_ADDR: '/run/r.sock' })).toMatchObject({ httpNet: 'unix', httpAddr: '/run/r.sock' });
    expect(facts(base, { REGISTRY_HTTP_TLS_CERTIFICATE: '/c.pem' }).tls).toBe(true);
    expect(facts(base, { REGISTRY_HTTP_TLS_LETSENCRYPT_CACHEFILE: '/le' }).tls).toBe(true);
    expect(facts(STORAGE, { REGISTRY_HTTP_ADDR: ':7000' }).httpAddr).toBe(':7000'); // no http section in the file
    expect(facts(base, { REGISTRY_HTTP_ADDR: '' }).httpAddr).toBeUndefined();
    // REGISTRY_HTTP replaces the section, before the more specific variables.
    expect(facts(base, { REGISTRY_HTTP: '{addr: ":8000", net: tcp}', REGISTRY_HTTP_PREFIX: '/p/' })).toMatchObject({ httpAddr: ':8000', httpPrefix: '/p/' });
    // Names are matched upper-case only, as Distribution does.
    expect(facts(base, { registry_http_addr: ':9', REGISTRY_http_addr: ':9' }).httpAddr).toBe(':5000');
  });

  it('applies the read-only overrides Distribution 2.8.2 honours, and only those', () => {
    expect(facts(STORAGE, { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":true}' }).readOnly).toBe(true);
    expect(facts(STORAGE, { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{enabled: yes}' }).readOnly).toBe(true);
    expect(facts(STORAGE, { REGISTRY_STORAGE_MAINTENANCE: '{"readonly":{"enabled":true}}' }).readOnly).toBe(true);
    expect(facts(RO, { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":false}' }).readOnly).toBe(false);
    // Deeper than storage.<section>.<key>: ignored with readonly in the file, a panic at start without.
    expect(facts(STORAGE, { REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'true' }).readOnly).toBe(false);
    expect(facts(RO, { REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED: 'false' }).readOnly).toBe(true);
    // REGISTRY_STORAGE=filesystem replaces the whole storage section, maintenance included.
    expect(facts(RO, { REGISTRY_STORAGE: 'filesystem' }).readOnly).toBe(false);
    // ... and is applied before REGISTRY_STORAGE_MAINTENANCE_READONLY (byte order of names).
    expect(facts(STORAGE, { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":true}', REGISTRY_STORAGE: 'filesystem' }).readOnly).toBe(true);
    // A section key in another case is the same map key for the environment.
    expect(
      readRegistryFacts('storage:\n  filesystem: {}\n  Maintenance:\n    readonly: {enabled: true}\n', 'c.yml', {
        REGISTRY_STORAGE_MAINTENANCE_READONLY: '{"enabled":false}',
      }).readOnly,
    ).toBe(false);
  });

  it('refuses a config or an override that is not YAML, naming it', () => {
    expect(() => readRegistryFacts('http: [', 'c.yml', {})).toThrow(/cannot parse registry config c.yml/);
    const error = (() => {
      try {
        facts(STORAGE, { REGISTRY_STORAGE_MAINTENANCE_READONLY: '{enabled: [' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(JanitorError);
    expect((error as JanitorError).code).toBe('E_CONFIG');
    expect((error as JanitorError).message).toMatch(/environment variable REGISTRY_STORAGE_MAINTENANCE_READONLY/);
  });
});

describe('probeRegistryUrls', () => {
  const at = (addr: string, more = ''): RegistryFacts => facts(`${STORAGE}http:\n  addr: "${addr}"\n${more}`);

  it('probes a wildcard listen address on 127.0.0.1, any other host as named', () => {
    expect(probeRegistryUrls(at(':5000'))).toEqual(['http://127.0.0.1:5000/v2/']);
    expect(probeRegistryUrls(at('0.0.0.0:5000'))).toEqual(['http://127.0.0.1:5000/v2/']);
    expect(probeRegistryUrls(at('[::]:5000'))).toEqual(['http://127.0.0.1:5000/v2/']);
    expect(probeRegistryUrls(at('localhost:5000'))).toEqual(['http://localhost:5000/v2/']);
    expect(probeRegistryUrls(at('10.1.2.3:5000'))).toEqual(['http://10.1.2.3:5000/v2/']);
    expect(probeRegistryUrls(at('registry.example:443'))).toEqual(['http://registry.example:443/v2/']);
    expect(probeRegistryUrls(at('[::1]:5000'))).toEqual(['http://[::1]:5000/v2/']);
    expect(probeRegistryUrls(at(':http'))).toEqual(['http://127.0.0.1:80/v2/']);
  });

  it('uses https with TLS, the prefix, and unix:// for a socket', () => {
    expect(probeRegistryUrls(at(':5000', '  tls:\n    certificate: /c.pem\n'))).toEqual(['https://127.0.0.1:5000/v2/']);
    expect(probeRegistryUrls(at(':5000', '  prefix: /reg/\n'))).toEqual(['http://127.0.0.1:5000/reg/v2/']);
    expect(probeRegistryUrls(at('/run/r.sock', '  net: unix\n'))).toEqual(['unix:///run/r.sock']);
    expect(probeRegistryUrls(at('/run/r.sock', '  net: unix\n  tls:\n    certificate: /c.pem\n'))).toEqual(['unix+tls:///run/r.sock']);
  });

  it('gives no URL of its own where the registry cannot listen, and fails closed on an unknown port name', () => {
    expect(probeRegistryUrls(facts(STORAGE))).toEqual([]);
    expect(probeRegistryUrls(at('5000'))).toEqual([]); // Go: missing port in address
    expect(probeRegistryUrls(at(':5000', '  net: udp\n'))).toEqual([]); // Go: unknown address type
    expect(probeRegistryUrls(undefined)).toEqual([]);
    expect(() => probeRegistryUrls(at(':registry'))).toThrow(/cannot tell which port http.addr :registry listens on/);
    // Names every object inherits: a port is not looked up in an object's prototype.
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(() => probeRegistryUrls(at(`:${name}`))).toThrow(`cannot tell which port http.addr :${name} listens on`);
    }
  });

  it('adds --registry-url, normalised to /v2/, and refuses other schemes as usage errors', () => {
    expect(probeRegistryUrls(at(':5000'), 'http://reg.example:5000')).toEqual(['http://127.0.0.1:5000/v2/', 'http://reg.example:5000/v2/']);
    expect(probeRegistryUrls(undefined, 'https://reg.example/v2')).toEqual(['https://reg.example/v2/']);
    expect(probeRegistryUrls(undefined, 'https://u:p@reg.example/prefix/?x=1#y')).toEqual(['https://reg.example/prefix/v2/']);
    expect(probeRegistryUrls(at(':5000'), 'http://127.0.0.1:5000/v2/')).toEqual(['http://127.0.0.1:5000/v2/']);
    for (const bad of ['ftp://reg.example/', 'reg.example:5000', 'not a url', 'unix:///run/r.sock']) {
      let caught: unknown;
      try {
        probeRegistryUrls(undefined, bad);
      } catch (e) {
        caught = e;
      }
      expect(caught, bad).toBeInstanceOf(JanitorError);
      expect((caught as JanitorError).code).toBe('E_USAGE');
    }
  });
});

describe('describeLiveRefusal', () => {
  it('names the URL, what answered and the three ways on, on one line', () => {
    const result = {
      url: 'http://127.0.0.1:5000/v2/',
      answered: true,
      status: 200,
      registry: true,
      detail: 'HTTP 200, Docker-Distribution-API-Version: registry/2.0',
    };
    const line = describeLiveRefusal(result, facts(`${STORAGE}http:\n  addr: :5000\n`));
    expect(line).not.toContain('\n');
    expect(line).toContain('http://127.0.0.1:5000/v2/');
    expect(line).toContain('c.yml does not set storage.maintenance.readonly.enabled: true');
    expect(line).toMatch(/stop the registry/);
    expect(line).toMatch(/read-only mode \(storage.maintenance.readonly.enabled: true in its config, then restart it\)/);
    expect(line).toMatch(/--allow-live \(the grace window and revalidation then protect fresh writes\)/);
    expect(describeLiveRefusal({ ...result, url: 'unix:///run/r.sock' }, undefined)).toMatch(/the Unix socket \/run\/r.sock .*no --config/);
  });
});
