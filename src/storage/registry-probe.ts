// Where a registry would answer and whether one does: the second half of
// the live-registry guard (live-registry.ts).
//
// - probeRegistryUrls() turns the config's facts (registry-facts.ts) and a
//   user's --registry-url into the URLs to probe; probeRegistry() GETs one
//   `/v2/` with a bounded time and never throws for a network failure.
//
// Facts checked against Distribution v2.8.2 (registry/registry.go,
// registry/handlers/app.go) and against /usr/bin/docker-registry 2.8.2:
// http.net is `tcp` or `unix` (addr is then a socket path); TLS is on when
// the config sets a certificate, whatever the net. Every response, a 404
// included, carries the header `Docker-Distribution-API-Version:
// registry/2.0`; `/v2/` itself answers 200, or 401 with auth configured.
// http.prefix moves the routes under it.

import http from 'node:http';
import https from 'node:https';
import { JanitorError, errnoCode } from '../errors.js';
import type { RegistryFacts } from './registry-facts.js';

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
// A Map: the name comes from the config, and an object would answer "constructor" with a function.
const SERVICE_PORTS: ReadonlyMap<string, number> = new Map([
  ['http', 80],
  ['https', 443],
]);

/** Go's plain-HTTP-to-TLS-server answer (net/http): a 400 whose body says so. */
const HTTP_TO_TLS_BODY = 'Client sent an HTTP request to an HTTPS server';

/** The body bytes read from a 400 to recognise that answer (it is 48 bytes long). */
const BODY_PEEK_BYTES = 512;

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
  // No match: no port, or an unbracketed IPv6 address ("missing port" / "too many colons").
  const host = match?.[1];
  const portText = match?.[2];
  if (host === undefined || portText === undefined) return undefined;
  let port: number;
  if (/^\d+$/.test(portText)) {
    port = Number(portText);
    if (port > 65535) return undefined;
  } else if (portText === '') {
    return undefined; // port 0 in Go: an unknowable random port
  } else {
    const known = SERVICE_PORTS.get(portText.toLowerCase());
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
    const timer = setTimeout(
      () => {
        timedOut = true;
        controller.abort();
      },
      Math.max(1, timeoutMs),
    );
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
      const headerValue = (Array.isArray(header) ? header.join(',') : (header ?? '')).trim();
      const hasHeader = headerValue
        .toLowerCase()
        .split(/\s*,\s*/)
        .includes(API_VERSION);
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
export function describeProbeTarget(url: string): string {
  if (url.startsWith(UNIX_TLS_SCHEME)) return `the Unix socket ${url.slice(UNIX_TLS_SCHEME.length)} (TLS)`;
  if (url.startsWith(UNIX_SCHEME)) return `the Unix socket ${url.slice(UNIX_SCHEME.length)}`;
  return url;
}
