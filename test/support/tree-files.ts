// Reading outcomes off real directories: which files and blobs are left.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const BIN = path.resolve(import.meta.dirname, '../../bin/registry-janitor.js');

export function v2Of(root: string): string {
  return path.join(root, 'docker/registry/v2');
}

/**
 * Every file under `dir` with its mtime, sorted: to prove a run changed
 * nothing. The empty v2/_janitor/ a real run leaves (its lock is gone) is
 * the tool's own, not a change to the registry's tree.
 */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.name === '_janitor' && fs.readdirSync(full).length === 0) continue;
      if (entry.isDirectory()) {
        out.push(`${path.relative(dir, full)}/`);
        walk(full);
      } else {
        out.push(`${path.relative(dir, full)} ${fs.lstatSync(full).mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Every directory, and every file with its size and sha256, under a root's
 * v2 (this tool's own _janitor/ aside), sorted: to prove two trees equal
 * file by file, or a tree restored to what it was.
 */
export function listContents(root: string): string[] {
  const v2 = v2Of(root);
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      const rel = path.relative(v2, full);
      if (rel === '_janitor') continue;
      if (entry.isDirectory()) {
        out.push(`d ${rel}`);
        walk(full);
      } else {
        const bytes = fs.readFileSync(full);
        out.push(`${entry.isFile() ? 'f' : '?'} ${rel} ${bytes.length} ${createHash('sha256').update(bytes).digest('hex')}`);
      }
    }
  };
  walk(v2);
  return out.sort();
}

/** The blob digests present under a root. */
export function blobsOn(root: string): Set<string> {
  const out = new Set<string>();
  const base = path.join(v2Of(root), 'blobs/sha256');
  if (!fs.existsSync(base)) return out;
  for (const bucket of fs.readdirSync(base)) {
    for (const hex of fs.readdirSync(path.join(base, bucket))) out.add(`sha256:${hex}`);
  }
  return out;
}

/** Revision digests present per repository, as "repo@digest". */
export function revisionsOn(root: string, repos: string[]): Set<string> {
  const out = new Set<string>();
  for (const repo of repos) {
    const dir = path.join(v2Of(root), 'repositories', repo, '_manifests/revisions/sha256');
    if (!fs.existsSync(dir)) continue;
    for (const hex of fs.readdirSync(dir)) out.add(`${repo}@sha256:${hex}`);
  }
  return out;
}

/** Layer links per repository whose blob is not on disk. */
export function danglingLayerLinks(root: string, repos: string[]): string[] {
  const blobs = blobsOn(root);
  const out: string[] = [];
  for (const repo of repos) {
    const dir = path.join(v2Of(root), 'repositories', repo, '_layers/sha256');
    if (!fs.existsSync(dir)) continue;
    for (const hex of fs.readdirSync(dir)) if (!blobs.has(`sha256:${hex}`)) out.push(`${repo}@sha256:${hex}`);
  }
  return out;
}

export function copyTree(from: string, to: string): string {
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true });
  return to;
}

/** Runs the built CLI as a user would; `json` is the parsed report of a --json run that exited 0, else undefined. */
export function runJanitor(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const run = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env });
  const json = args.includes('--json') && run.status === 0 ? JSON.parse(run.stdout) : undefined;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, json };
}

/** A JSON report less what changes from run to run: its times (gc's phasesMs, verify's phases, the stamps). */
export function withoutTimes(json: Record<string, unknown>): Record<string, unknown> {
  return { ...json, phasesMs: undefined, phases: undefined, startedAt: undefined, finishedAt: undefined };
}

/** Two days: older than any grace window the tests use (the default is 1h). */
export const AGED_MS = 2 * 86_400_000;

/**
 * Ages a real tree: every file and directory written more recently than
 * AGED_MS ago gets that age, so the default grace window (1h) spares
 * nothing, as on a registry whose last push was long ago. Older mtimes
 * (a tag pushed "30 days ago") stay.
 */
export function ageTree(dir: string): void {
  const cutoff = (Date.now() - AGED_MS) / 1000;
  const walk = (at: string): void => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      if (!entry.isSymbolicLink() && fs.lstatSync(full).mtimeMs / 1000 > cutoff) fs.utimesSync(full, cutoff, cutoff);
    }
  };
  walk(dir);
  if (fs.lstatSync(dir).mtimeMs / 1000 > cutoff) fs.utimesSync(dir, cutoff, cutoff);
}
