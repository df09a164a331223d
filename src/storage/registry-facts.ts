// What a Distribution registry's config.yml says about where it listens
// (http.addr, http.net, http.prefix, TLS) and about read-only mode
// (storage.maintenance.readonly.enabled), with the REGISTRY_* overrides
// applied as Distribution 2.8 applies them: the first half of the
// live-registry guard (live-registry.ts).
//
// Facts checked against Distribution v2.8.2 (configuration/parser.go,
// configuration/configuration.go, registry/registry.go) and against
// /usr/bin/docker-registry 2.8.2:
//
// - The config is YAML 1.1 (gopkg.in/yaml.v2): `enabled: yes` / `on` / `y` is
//   a boolean true, so the file is parsed here with the YAML 1.1 schema.
// - An environment variable REGISTRY_A_B_C overrides a.b.c: the name is split
//   on `_`, each part matched against the upper-cased field name (struct) or
//   key (map); its value is parsed as YAML into the field. Variables are
//   applied in byte order of their names, so REGISTRY_STORAGE (which replaces
//   the whole storage section; a plain string names a driver with no
//   parameters) comes before REGISTRY_STORAGE_MAINTENANCE, which comes before
//   REGISTRY_STORAGE_MAINTENANCE_READONLY.
// - Read-only mode is `storage.maintenance.readonly` being a map whose
//   `enabled` is the boolean true. From the environment it can be set only as
//   a map: REGISTRY_STORAGE_MAINTENANCE_READONLY='{"enabled":true}' (or
//   REGISTRY_STORAGE_MAINTENANCE='{"readonly":{"enabled":true}}').
//   REGISTRY_STORAGE_MAINTENANCE_READONLY_ENABLED never takes effect: with
//   `readonly` in the file the parser ignores it (a YAML map has non-string
//   keys), without it the registry panics at start ("readonly config key must
//   contain additional keys"). A non-boolean `enabled` panics too. So no
//   variable deeper than storage.<section>.<key> is applied here.
// - http.net is `tcp` (also when empty) or `unix` (addr is then a socket
//   path); anything else and the registry does not start. TLS is on when
//   http.tls.certificate or http.tls.letsencrypt.cachefile is set, whatever
//   the net.
//
// The environment read is this process's: like the storage root in
// registry-config.ts, it matches the registry's when the janitor runs where the
// registry runs (a container's or a unit's environment is not visible here).

import { parse } from 'yaml';
import { JanitorError } from '../errors.js';
import { readConfigText } from './registry-config.js';
import type { FileSystem } from './file-system.js';

export interface RegistryFacts {
  /** The config file the facts come from (for messages). */
  file: string;
  /** http.addr after overrides; undefined when empty or missing. */
  httpAddr: string | undefined;
  /** http.net after overrides: `tcp` (the default) or `unix`; another value is kept as given (the registry does not start with it). */
  httpNet: string;
  /** http.prefix after overrides ('' when none). */
  httpPrefix: string;
  /** http.tls.certificate or http.tls.letsencrypt.cachefile is set. */
  tls: boolean;
  /** storage.maintenance.readonly.enabled is the boolean true. */
  readOnly: boolean;
}

/** The registry's config is YAML 1.1 (gopkg.in/yaml.v2): `yes`/`on` are booleans. */
const YAML_OPTIONS = { version: '1.1' } as const;

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A scalar read into a Go string field: its text; null and '' are unset. */
function readStringField(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function parseYamlText(text: string, what: string, file: string): unknown {
  try {
    return parse(text, YAML_OPTIONS);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new JanitorError('E_CONFIG', `cannot parse ${what}: ${why}`, { path: file, cause });
  }
}

/**
 * Applies one REGISTRY_* override to the parsed config, as Distribution's
 * parser does for the sections read here (http and storage). Struct levels
 * (the top, http and below) match the lower-case YAML key; map levels (the
 * storage section and a storage section's parameters) reuse a key whose
 * upper case matches, else add it in lower case. A value met on the way that
 * is not a map stops the override (the parser skips it too).
 */
function applyOverride(doc: Tree, parts: string[], payload: string, name: string, file: string): void {
  const [section] = parts;
  if (section !== 'HTTP' && section !== 'STORAGE') return;
  // storage.<section>.<key>.<more>: never applied by 2.8 (see the header).
  if (section === 'STORAGE' && parts.length > 3) return;
  let value = parseYamlText(payload, `environment variable ${name}`, file);
  // REGISTRY_STORAGE=filesystem: a string names a driver with no parameters (Storage.UnmarshalYAML).
  if (parts.length === 1 && section === 'STORAGE' && typeof value === 'string') value = { [value]: {} };
  let node = doc;
  for (const [i, part] of parts.entries()) {
    const mapLevel = section === 'STORAGE' && i >= 1;
    const key = (mapLevel ? Object.keys(node).find((k) => k.toUpperCase() === part) : undefined) ?? part.toLowerCase();
    if (i === parts.length - 1) {
      node[key] = value;
      return;
    }
    const next = node[key];
    if (next === undefined || next === null) {
      node[key] = {};
    } else if (!isTree(next)) {
      return;
    }
    node = node[key] as Tree;
  }
}

/** Byte order of names, as Go's sort of the environment (ASCII names: the same as UTF-16 order). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * What the registry's config.yml (with REGISTRY_* overrides from `env`) says
 * about where it listens and whether it is read-only. Throws E_CONFIG only
 * when the text or an override is not YAML; settings with which the
 * registry would not start are reported as they are (see RegistryFacts).
 */
export function readRegistryFacts(text: string, file: string, env: NodeJS.ProcessEnv): RegistryFacts {
  const parsed = parseYamlText(text, `registry config ${file}`, file);
  const doc: Tree = isTree(parsed) ? structuredClone(parsed) : {};
  // `storage: filesystem`: a driver with no parameters (Storage.UnmarshalYAML).
  if (typeof doc.storage === 'string') doc.storage = { [doc.storage]: {} };
  const overrides = Object.entries(env)
    .filter((entry): entry is [string, string] => entry[0].startsWith('REGISTRY_') && entry[1] !== undefined)
    .sort(([a], [b]) => compareNames(a, b));
  for (const [name, payload] of overrides) applyOverride(doc, name.split('_').slice(1), payload, name, file);

  const httpSection = isTree(doc.http) ? doc.http : {};
  const tlsSection = isTree(httpSection.tls) ? httpSection.tls : {};
  const letsEncrypt = isTree(tlsSection.letsencrypt) ? tlsSection.letsencrypt : {};
  const storage = isTree(doc.storage) ? doc.storage : {};
  const maintenance = isTree(storage.maintenance) ? storage.maintenance : {};
  const readonly = maintenance.readonly;
  return {
    file,
    httpAddr: readStringField(httpSection.addr),
    httpNet: readStringField(httpSection.net) ?? 'tcp',
    httpPrefix: readStringField(httpSection.prefix) ?? '',
    tls: readStringField(tlsSection.certificate) !== undefined || readStringField(letsEncrypt.cachefile) !== undefined,
    readOnly: isTree(readonly) && readonly.enabled === true,
  };
}

/** readRegistryFacts() on a config file read through the injected filesystem (a regular file only). */
export function readRegistryFactsFile(fs: FileSystem, file: string, env: NodeJS.ProcessEnv): RegistryFacts {
  return readRegistryFacts(readConfigText(fs, file), file, env);
}
