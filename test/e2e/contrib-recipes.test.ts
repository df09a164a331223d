// The scheduler recipes in contrib/ and the container's entry point, checked
// as far as this machine allows: the systemd units by `systemd-analyze
// verify` (no warning either), the CronJob against Kubernetes' schema
// (kubernetes-models; no cluster here), and every command line they hold run
// for real on a copy of the fixture with the built CLI: the cron line with a
// stand-in systemctl that records what it was asked (the registry is
// started again after a failed run too), the Dockerfile's entry point with
// node and the CLI in place of the image's (no container engine runs here:
// podman's crun cannot set its rlimits nor use this host's cgroups).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort, makeTempDir, writeConfig } from '../support/registry.js';
import { BIN, ageTree, blobsOn, copyTree } from '../support/tree-files.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CONTRIB = path.join(REPO, 'contrib');
const FIXTURE = path.join(REPO, 'fixtures/example');
const SUMMARY = '17 blobs marked, 12 blobs and 4 manifests eligible for deletion\n';
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

let work: string;
let n = 0;
beforeAll(() => {
  work = makeTempDir('contrib');
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A fixture copy aged past any grace window, its config.yml, and a directory for the metrics. */
function site() {
  const dir = path.join(work, `site${n++}`);
  const root = copyTree(FIXTURE, path.join(dir, 'root'));
  ageTree(root);
  const config = writeConfig(dir, root, 5000);
  const metrics = path.join(dir, 'metrics');
  fs.mkdirSync(metrics);
  return { dir, root, config, metrics, blobs: blobsOn(root).size };
}

/** The recipes' own paths, pointed at a site. */
function localise(text: string, s: ReturnType<typeof site>): string {
  return text
    .replaceAll('/etc/docker/registry/config.yml', s.config)
    .replaceAll('/var/lib/prometheus/node-exporter', s.metrics)
    .replaceAll('/usr/local/bin/registry-janitor', BIN);
}

if (!fs.existsSync(SYSTEMD_ANALYZE))
  process.stderr.write(`\n!!! ${SYSTEMD_ANALYZE} is missing: the systemd units are NOT verified here (apt-get install -y systemd)\n\n`);

describe('contrib/systemd', () => {
  const unitDir = (): string => {
    const dir = path.join(work, `units${n++}`);
    fs.mkdirSync(dir);
    const s = site();
    for (const unit of ['registry-janitor.service', 'registry-janitor.timer'])
      fs.writeFileSync(path.join(dir, unit), localise(fs.readFileSync(path.join(CONTRIB, 'systemd', unit), 'utf8'), s));
    return dir;
  };

  it.skipIf(!fs.existsSync(SYSTEMD_ANALYZE) && process.env.CI !== 'true')('the service and the timer pass systemd-analyze verify without a warning', () => {
    const dir = unitDir();
    const run = spawnSync(SYSTEMD_ANALYZE, ['verify', path.join(dir, 'registry-janitor.service'), path.join(dir, 'registry-janitor.timer')], {
      encoding: 'utf8',
    });
    expect(run.error).toBeUndefined();
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr + run.stdout).toBe('');
    const calendar = spawnSync(SYSTEMD_ANALYZE, ['calendar', 'Sun *-*-* 03:30:00'], { encoding: 'utf8' });
    expect(calendar.stdout).toMatch(/Next elapse: Sun /);
  });

  it("the service's ExecStart runs: the drop-in sweeps and writes the metrics; stop before, start after (even on failure)", () => {
    const s = site();
    const unit = localise(fs.readFileSync(path.join(CONTRIB, 'systemd/registry-janitor.service'), 'utf8'), s);
    // A key's value, its continuation lines (a trailing backslash) joined.
    const value = (key: string): string => (new RegExp(`^${key}=((?:[^\\n]*\\\\\\n)*[^\\n]*)`, 'm').exec(unit)?.[1] ?? '').replace(/\\\n\s*/g, ' ');
    expect(value('ExecStartPre')).toBe('+/bin/systemctl stop docker-registry.service');
    expect(value('ExecStopPost')).toBe('+/bin/systemctl start docker-registry.service');
    expect(value('Type')).toBe('oneshot');
    const [program = '', ...args] = value('ExecStart').split(/\s+/);
    const run = spawnSync(program, args, { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(SUMMARY);
    expect(blobsOn(s.root).size).toBe(s.blobs - 12);
    expect(fs.readFileSync(path.join(s.metrics, 'registry_janitor.prom'), 'utf8')).toMatch(
      /^registry_janitor_last_run_success\{command="garbage-collect"\} 1$/m,
    );
  });
});

describe('contrib/cron', () => {
  const line = (): { fields: string[]; user: string; command: string } => {
    const entry = fs
      .readFileSync(path.join(CONTRIB, 'cron/registry-janitor'), 'utf8')
      .split('\n')
      .find((l) => /^[0-9*]/.test(l));
    const [minute = '', hour = '', day = '', month = '', weekday = '', user = '', ...command] = (entry ?? '').split(' ');
    return { fields: [minute, hour, day, month, weekday], user, command: command.join(' ') };
  };

  /** Runs the line's command with a stand-in systemctl (recording its arguments) and the built CLI on PATH. */
  function runLine(s: ReturnType<typeof site>) {
    const bin = path.join(s.dir, 'bin');
    fs.mkdirSync(bin);
    const calls = path.join(s.dir, 'systemctl.log');
    fs.writeFileSync(path.join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${calls}\n`, { mode: 0o755 });
    fs.symlinkSync(BIN, path.join(bin, 'registry-janitor'));
    const run = spawnSync('/bin/sh', ['-c', localise(line().command, s)], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    });
    return { ...run, calls: fs.readFileSync(calls, 'utf8').trim().split('\n') };
  }

  it('is a cron.d line: five time fields, the user, the command', () => {
    const { fields, user } = line();
    expect(fields).toEqual(['30', '3', '*', '*', '0']);
    expect(user).toBe('root');
  });

  it('stops the registry, sweeps with the drop-in, starts the registry again', () => {
    const s = site();
    const run = runLine(s);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(SUMMARY);
    expect(run.calls).toEqual(['stop docker-registry', 'start docker-registry']);
    expect(blobsOn(s.root).size).toBe(s.blobs - 12);
  });

  it('a failed run still starts the registry, and the line exits with the run’s status', () => {
    const s = site();
    fs.writeFileSync(s.config, 'version: 0.1\nstorage:\n  s3:\n    bucket: x\n');
    const run = runLine(s);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/s3 storage driver/);
    expect(run.calls).toEqual(['stop docker-registry', 'start docker-registry']);
  });
});

describe('contrib/kubernetes', () => {
  const manifest = () => parse(fs.readFileSync(path.join(CONTRIB, 'kubernetes/cronjob.yaml'), 'utf8'));

  it("the CronJob is valid against Kubernetes' schema, never runs twice at once, and mounts the volume where the image expects it", () => {
    const doc = manifest();
    expect(() => new CronJob(doc).validate()).not.toThrow();
    expect(doc.spec.concurrencyPolicy).toBe('Forbid');
    const container = doc.spec.jobTemplate.spec.template.spec.containers[0];
    expect(container.volumeMounts.map((m: { mountPath: string }) => m.mountPath)).toContain('/var/lib/registry');
    // the schema check itself refuses a broken manifest
    doc.spec.concurrencyPolicy = 'Sometimes';
    expect(() => new CronJob(doc).validate()).toThrow(/concurrencyPolicy/);
  });

  it("its args run through the image's entry point: the drop-in with the safe flags (grace, the live-registry probe, JSON logs)", async () => {
    const s = site();
    const args: string[] = manifest().spec.jobTemplate.spec.template.spec.containers[0].args;
    expect(args).toEqual(expect.arrayContaining(['garbage-collect', '--grace=1h']));
    const port = await freePort(); // nothing listens: the probe finds no registry
    const localArgs = args.map((a) => (a.startsWith('--registry-url=') ? `--registry-url=http://127.0.0.1:${port}` : localise(a, s)));
    const run = spawnSync(path.join(CONTRIB, 'docker/entrypoint.sh'), localArgs, {
      encoding: 'utf8',
      env: { ...process.env, REGISTRY_JANITOR_JS: BIN, REGISTRY_JANITOR_NODE: process.execPath },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe(SUMMARY);
    const events = run.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events.at(-1)).toMatchObject({ event: 'summary', exitStatus: 0, blobsDeleted: 12 });
    expect(blobsOn(s.root).size).toBe(s.blobs - 12);
  });
});

describe('Dockerfile and its entry point (run without a container engine)', () => {
  const entry = path.join(CONTRIB, 'docker/entrypoint.sh');
  const env = { ...process.env, REGISTRY_JANITOR_JS: BIN, REGISTRY_JANITOR_NODE: process.execPath };
  const run = (program: string, args: string[]) => spawnSync(program, args, { encoding: 'utf8', env });

  it('the image runs the entry point as a non-root user, with the volume at /var/lib/registry and a dry run by default', () => {
    const dockerfile = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toMatch(/^COPY contrib\/docker\/entrypoint\.sh \/usr\/local\/bin\/registry-janitor-entrypoint$/m);
    expect(final).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/registry-janitor-entrypoint"\]$/m);
    expect(final).toMatch(/^CMD \["gc", "--dry-run", "--root", "\/var\/lib\/registry"\]$/m);
    expect(final).toMatch(/^VOLUME \/var\/lib\/registry$/m);
    expect(final).toMatch(/^USER (?!root|0\b)\S+$/m);
    expect(final).toMatch(/ln -s \/usr\/local\/bin\/registry-janitor-entrypoint \/bin\/registry/);
    // the build stage's command is the package script
    expect(dockerfile).toMatch(/RUN npm run package -- --no-sea/);
    expect(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).scripts.package).toBeDefined();
    expect(fs.statSync(entry).mode & 0o111).not.toBe(0);
  });

  it("the default command (CMD) is a dry run; the exit status is the janitor's", () => {
    const s = site();
    const dry = run(entry, ['gc', '--dry-run', '--root', s.root]);
    expect(dry.status, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^27 blobs marked, 2 blobs and 0 manifests eligible for deletion$/m);
    expect(blobsOn(s.root).size).toBe(s.blobs);
    expect(run(entry, ['gc', '--root', path.join(s.dir, 'nowhere')]).status).toBe(1);
    expect(run(entry, ['--version']).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('answers as /bin/registry: `registry garbage-collect` lines run the drop-in; `registry serve` is refused', () => {
    const s = site();
    const registry = path.join(s.dir, 'registry');
    fs.symlinkSync(entry, registry);
    const gc = run(registry, ['garbage-collect', '--delete-untagged=true', s.config]);
    expect(gc.status, gc.stderr).toBe(0);
    expect(gc.stdout).toBe(SUMMARY);
    expect(blobsOn(s.root).size).toBe(s.blobs - 12);
    const asArgument = run(entry, ['/bin/registry', 'garbage-collect', '-d', s.config]);
    expect(asArgument.status, asArgument.stderr).toBe(0);
    const serve = run(registry, ['serve', s.config]);
    expect(serve.status).toBe(2);
    expect(serve.stderr).toMatch(/runs only `registry garbage-collect`/);
  });
});
