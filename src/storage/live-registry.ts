// The live-registry guard (issue 8, items 2 and 5): before a run deletes
// anything, find out whether a Distribution registry is serving the tree and
// whether it is configured read-only.
//
// - readRegistryFacts() reads what the registry's config.yml says about where
//   it listens (http.addr, http.net, http.prefix, TLS) and about read-only
//   mode (storage.maintenance.readonly.enabled), with the REGISTRY_* overrides
//   applied as Distribution 2.8 applies them.
// - probeRegistryUrls() turns those facts (and a user's --registry-url) into
//   the URLs to probe; probeRegistry() GETs one `/v2/` with a bounded time
//   and never throws for a network failure.
// - describeLiveRefusal() is the one line a refused run prints;
//   checkLiveRegistry() does all of it for the CLI.
//
// Facts checked against Distribution v2.8.2 (configuration/parser.go,
// configuration/configuration.go, registry/registry.go,
// registry/handlers/app.go) and against /usr/bin/docker-registry 2.8.2:
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
//   the net. Every response, a 404 included, carries the header
//   `Docker-Distribution-API-Version: registry/2.0`; `/v2/` itself answers
//   200, or 401 with auth configured. http.prefix moves the routes under it.
//
// The environment read is this process's: like the storage root in
// config.ts, it matches the registry's when the janitor runs where the
// registry runs (a container's or a unit's environment is not visible here).

import http from 'node:http';
import https from 'node:https';
import { parse } from 'yaml';
import { JanitorError, errnoCode } from '../errors.js';
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

export interface ProbeResult {
  url: string;
  /** Something answered in HTTP (any status). */
  answered: boolean;
  status?: number;
  /** The answer is a Distribution registry's. */
  registry: boolean;
  /** What happened, for a message: `HTTP 401, Docker-Distribution-API-Version: registry/2.0`, `connection refused`, ... */
  detail: string;
}

export interface LiveRegistryCheck {
  probes: ProbeResult[];
  /** The first probe a registry answered, if any. */
  live: ProbeResult | undefined;
  /** The line to refuse with: a registry answered and it is not configured read-only. */
  refusal: string | undefined;
}

/**
 * 2 s: a registry on the same host answers `/v2/` in milliseconds (4 to
 * 32 ms per fresh connection from Node, 5 to 19 ms with curl, measured
 * against docker-registry 2.8.2 on 127.0.0.1 on this project's 2-core
 * machine); 2 s is over 60 times that, room for a loaded host, and keeps the
 * wait on a black-holed address short.
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 2000;

/** The header Distribution sets on every response (registry/handlers/app.go). */
const API_VERSION_HEADER = 'docker-distribution-api-version';
const API_VERSION = 'registry/2.0';

/** Pseudo-URL schemes for a registry on a Unix socket (http.net: unix): the rest is the socket path. */
const UNIX_SCHEME = 'unix://';
const UNIX_TLS_SCHEME = 'unix+tls://';

/** Ports Go resolves by service name in an addr like `:http` (from /etc/services). */
const SERVICE_PORTS: Record<string, number> = { http: 80, https: 443 };

/** Go's plain-HTTP-to-TLS-server answer (net/http): a 400 whose body says so. */
const HTTP_TO_TLS_BODY = 'Client sent an HTTP request to an HTTPS server';

/** The body bytes read from a 400 to recognise that answer (it is 48 bytes long). */
const BODY_PEEK_BYTES = 512;

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
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
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
  const names = Object.keys(env)
    .filter((name) => name.startsWith('REGISTRY_') && env[name] !== undefined)
    .sort(compareNames);
  for (const name of names) applyOverride(doc, name.split('_').slice(1), env[name]!, name, file);

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

/** `/v2/` under http.prefix: `/path/` or `path` gives `/path/v2/`. */
function composeApiPath(prefix: string): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/v2/' : `/${trimmed}/v2/`;
}

/** Splits a Go TCP listen address into host and port; undefined when Go could not listen on it. */
function splitListenAddress(addr: string, file: string): { host: string; port: number } | undefined {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(addr);
  const plain = bracketed ? undefined : /^([^:]*):([^:]*)$/.exec(addr);
  const match = bracketed ?? plain;
  if (!match) return undefined; // no port, or an unbracketed IPv6 address: "missing port" / "too many colons"
  const host = match[1]!;
  const portText = match[2]!;
  let port: number;
  if (/^\d+$/.test(portText)) {
    port = Number(portText);
    if (port > 65535) return undefined;
  } else if (portText === '') {
    return undefined; // port 0 in Go: an unknowable random port
  } else {
    const known = SERVICE_PORTS[portText.toLowerCase()];
    if (known === undefined) {
      throw new JanitorError('E_CONFIG', `registry config ${file}: cannot tell which port http.addr ${addr} listens on`, { path: file });
    }
    port = known;
  }
  return { host, port };
}

/** A host to connect to for a listen host: the wildcard addresses are reached on 127.0.0.1. */
function composeProbeHost(host: string): string {
  if (host === '' || host === '0.0.0.0' || host === '::' || host === '0:0:0:0:0:0:0:0') return '127.0.0.1';
  return host.includes(':') ? `[${host.replace(/%/g, '%25')}]` : host;
}

/** A --registry-url as the `/v2/` URL to probe; E_USAGE unless http or https. */
function normalizeRegistryUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new JanitorError('E_USAGE', `--registry-url ${raw} is not a URL (expected http://HOST:PORT or https://HOST:PORT)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new JanitorError('E_USAGE', `--registry-url ${raw} is not an http or https URL`);
  }
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  const base = url.pathname.replace(/\/+$/, '');
  url.pathname = base.endsWith('/v2') ? `${base}/` : `${base}/v2/`;
  return url.toString();
}

/**
 * The URLs to probe: the registry's own address from its config (a
 * wildcard listen address is probed on 127.0.0.1; a Unix socket as
 * `unix://PATH`, or `unix+tls://PATH` with TLS), then `extraUrl`
 * (--registry-url) normalised to end with `/v2/`. Duplicates are dropped.
 * A config without http.addr, or with an address or net the registry cannot
 * listen on, gives no URL of its own; an address whose port cannot be told
 * (a service name other than http or https) is an E_CONFIG error.
 */
export function probeRegistryUrls(facts: RegistryFacts | undefined, extraUrl?: string): string[] {
  const urls: string[] = [];
  if (facts?.httpAddr !== undefined) {
    if (facts.httpNet === 'unix') {
      urls.push(`${facts.tls ? UNIX_TLS_SCHEME : UNIX_SCHEME}${facts.httpAddr}`);
    } else if (facts.httpNet === 'tcp') {
      const address = splitListenAddress(facts.httpAddr, facts.file);
      if (address) {
        const port = address.port;
        urls.push(`${facts.tls ? 'https' : 'http'}://${composeProbeHost(address.host)}:${port}${composeApiPath(facts.httpPrefix)}`);
      }
    }
  }
  if (extraUrl !== undefined) urls.push(normalizeRegistryUrl(extraUrl));
  return [...new Set(urls)];
}

interface ProbeTarget {
  tls: boolean;
  host?: string;
  port?: number;
  socketPath?: string;
  path: string;
}

function readProbeTarget(url: string): ProbeTarget {
  if (url.startsWith(UNIX_TLS_SCHEME)) return { tls: true, socketPath: url.slice(UNIX_TLS_SCHEME.length), path: '/v2/' };
  if (url.startsWith(UNIX_SCHEME)) return { tls: false, socketPath: url.slice(UNIX_SCHEME.length), path: '/v2/' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new JanitorError('E_USAGE', `cannot probe ${url}: not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new JanitorError('E_USAGE', `cannot probe ${url}: not an http, https or unix URL`);
  const tls = parsed.protocol === 'https:';
  const host = parsed.hostname.replace(/^\[|\]$/g, '').replace(/%25/g, '%');
  const port = parsed.port === '' ? (tls ? 443 : 80) : Number(parsed.port);
  return { tls, host, port, path: `${parsed.pathname}${parsed.search}` };
}

/** The same target with the other scheme (a probe that met the wrong one). */
function swapScheme(url: string): string {
  if (url.startsWith(UNIX_TLS_SCHEME)) return UNIX_SCHEME + url.slice(UNIX_TLS_SCHEME.length);
  if (url.startsWith(UNIX_SCHEME)) return UNIX_TLS_SCHEME + url.slice(UNIX_SCHEME.length);
  return url.startsWith('https:') ? `http:${url.slice('https:'.length)}` : `https:${url.slice('http:'.length)}`;
}

interface Attempt {
  result: ProbeResult;
  /** The answer says the other scheme is the right one. */
  wrongScheme: boolean;
}

function describeNetworkError(error: unknown, timedOut: boolean, timeoutMs: number, target: ProbeTarget): string {
  if (timedOut) return `no answer within ${timeoutMs} ms`;
  const code = errnoCode(error);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${target.host ?? ''} not found (${code})`;
    case 'ENOENT':
      return `no socket at ${target.socketPath ?? ''} (ENOENT)`;
    case 'ECONNRESET':
      return 'connection reset before an answer (ECONNRESET)';
    default: {
      const message = error instanceof Error ? error.message : String(error);
      return code && !message.includes(code) ? `${message} (${code})` : message;
    }
  }
}

/** Node's codes for a TLS client that met a plain-HTTP server. */
function isTlsProtocolError(error: unknown): boolean {
  const code = errnoCode(error) ?? '';
  return code === 'EPROTO' || code.startsWith('ERR_SSL_') || /wrong version number|packet length too long/i.test(error instanceof Error ? error.message : '');
}

/** One GET, settled within `timeoutMs`; never rejects. */
function attemptProbe(url: string, timeoutMs: number): Promise<Attempt> {
  const target = readProbeTarget(url);
  return new Promise<Attempt>((resolve) => {
    const controller = new AbortController();
    let timedOut = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, Math.max(1, timeoutMs));
    const settle = (attempt: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(attempt);
    };
    const options: https.RequestOptions = {
      method: 'GET',
      path: target.path,
      agent: false,
      signal: controller.signal,
      headers: { accept: 'application/json', 'user-agent': 'registry-janitor (live-registry probe)' },
      ...(target.socketPath !== undefined ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
      // A probe only asks "is something serving here"; a self-signed or
      // expired certificate still means a live registry.
      ...(target.tls ? { rejectUnauthorized: false } : {}),
    };
    const request = (target.tls ? https : http).request(options, (response) => {
      const status = response.statusCode ?? 0;
      const header = response.headers[API_VERSION_HEADER];
      const headerValue = (Array.isArray(header) ? header.join(',') : header ?? '').trim();
      const hasHeader = headerValue.toLowerCase().split(/\s*,\s*/).includes(API_VERSION);
      const isApiBase = target.path.endsWith('/v2/');
      const registry = hasHeader || (isApiBase && (status === 200 || status === 401));
      const detail = hasHeader
        ? `HTTP ${status}, Docker-Distribution-API-Version: ${headerValue}`
        : registry
          ? `HTTP ${status} on /v2/ (no Docker-Distribution-API-Version header)`
          : `HTTP ${status}, not a registry (no Docker-Distribution-API-Version header)`;
      const finish = (wrongScheme: boolean): void => {
        response.destroy();
        settle({ result: { url, answered: true, status, registry, detail }, wrongScheme });
      };
      if (status !== 400 || target.tls || registry) {
        finish(false);
        return;
      }
      // A 400 may be Go's answer to plain HTTP on a TLS port: peek at the body.
      let body = '';
      response.setEncoding('latin1');
      response.on('data', (chunk: string) => {
        body += chunk;
        if (body.length >= BODY_PEEK_BYTES) finish(body.includes(HTTP_TO_TLS_BODY));
      });
      response.on('end', () => finish(body.includes(HTTP_TO_TLS_BODY)));
      response.on('error', () => finish(body.includes(HTTP_TO_TLS_BODY)));
    });
    request.on('error', (error) => {
      const wrongScheme = target.tls && !timedOut && isTlsProtocolError(error);
      settle({ result: { url, answered: false, registry: false, detail: describeNetworkError(error, timedOut, timeoutMs, target) }, wrongScheme });
    });
    request.end();
  });
}

/**
 * GETs `url` (`http://…/v2/`, `https://…/v2/`, `unix://PATH` or
 * `unix+tls://PATH`) and tells whether a Distribution registry answered.
 * Any answer carrying `Docker-Distribution-API-Version: registry/2.0`, or a
 * 200/401 on `/v2/`, is a registry. Certificates are not verified. When the
 * answer shows the wrong scheme (plain HTTP sent to a TLS port, or a TLS
 * handshake with a plain-HTTP server), the other scheme is tried within the
 * same time budget. Never throws for a network failure: refused, timed
 * out, unresolvable and reset all give `answered: false`. Throws E_USAGE
 * only for a URL of another kind. Settles within about `timeoutMs`.
 */
export async function probeRegistry(url: string, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  const first = await attemptProbe(url, timeoutMs);
  const remaining = deadline - Date.now();
  if (!first.wrongScheme || remaining <= 0) return first.result;
  const second = await attemptProbe(swapScheme(url), remaining);
  if (second.result.answered) {
    return { ...second.result, url, detail: `${second.result.detail} (over ${second.result.url.split(':')[0]}: ${url} has the wrong scheme)` };
  }
  return first.result;
}

/** Where a probe went, for a message: a socket path reads better than a pseudo-URL. */
function describeProbeTarget(url: string): string {
  if (url.startsWith(UNIX_TLS_SCHEME)) return `the Unix socket ${url.slice(UNIX_TLS_SCHEME.length)} (TLS)`;
  if (url.startsWith(UNIX_SCHEME)) return `the Unix socket ${url.slice(UNIX_SCHEME.length)}`;
  return url;
}

/**
 * The one line a run refuses with when `result` is a live registry: the
 * URL, what answered, and the three ways on.
 */
export function describeLiveRefusal(result: ProbeResult, facts: RegistryFacts | undefined): string {
  const readOnly = facts
    ? `and ${facts.file} does not set storage.maintenance.readonly.enabled: true`
    : 'and its read-only mode is unknown (no --config)';
  return (
    `refusing to delete: a registry answers at ${describeProbeTarget(result.url)} (${result.detail}) ${readOnly}; ` +
    'a push during the sweep can lose data. To go on: stop the registry, ' +
    'or switch it to read-only mode (storage.maintenance.readonly.enabled: true in its config, then restart it), ' +
    'or pass --allow-live (the grace window and revalidation then protect fresh writes)'
  );
}

/**
 * Probes every URL of probeRegistryUrls() at once and decides: a registry
 * that answers while its config is not read-only (or is unknown) refuses
 * the run. Bounded by about `timeoutMs` in all.
 */
export async function checkLiveRegistry(
  facts: RegistryFacts | undefined,
  extraUrl?: string,
  timeoutMs = DEFAULT_PROBE_TIMEOUT_MS,
): Promise<LiveRegistryCheck> {
  const urls = probeRegistryUrls(facts, extraUrl);
  const probes = await Promise.all(urls.map((url) => probeRegistry(url, timeoutMs)));
  const live = probes.find((probe) => probe.registry);
  const refusal = live !== undefined && facts?.readOnly !== true ? describeLiveRefusal(live, facts) : undefined;
  return { probes, live, refusal };
}
