// The live-registry guard (issue 8, items 2 and 5): before a run deletes
// anything, find out whether a Distribution registry is serving the tree and
// whether it is configured read-only.
//
// - registry-facts.ts reads what the registry's config.yml says about where
//   it listens and about read-only mode;
// - registry-probe.ts turns those facts (and a user's --registry-url) into
//   the URLs to probe, and probes them;
// - describeLiveRefusal() here is the one line a refused run prints;
//   checkLiveRegistry() does all of it for the CLI.

import { DEFAULT_PROBE_TIMEOUT_MS, type ProbeResult, describeProbeTarget, probeRegistry, probeRegistryUrls } from './registry-probe.js';
import type { RegistryFacts } from './registry-facts.js';

export interface LiveRegistryCheck {
  probes: ProbeResult[];
  /** The first probe a registry answered, if any. */
  live: ProbeResult | undefined;
  /** The line to refuse with: a registry answered and it is not configured read-only. */
  refusal: string | undefined;
}

/**
 * The one line a run refuses with when `result` is a live registry: the
 * URL, what answered, and the three ways on.
 */
export function describeLiveRefusal(result: ProbeResult, facts: RegistryFacts | undefined): string {
  const readOnly = facts ? `and ${facts.file} does not set storage.maintenance.readonly.enabled: true` : 'and its read-only mode is unknown (no --config)';
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
export async function checkLiveRegistry(facts: RegistryFacts | undefined, extraUrl?: string, timeoutMs = DEFAULT_PROBE_TIMEOUT_MS): Promise<LiveRegistryCheck> {
  const urls = probeRegistryUrls(facts, extraUrl);
  const probes = await Promise.all(urls.map((url) => probeRegistry(url, timeoutMs)));
  const live = probes.find((probe) => probe.registry);
  const refusal = live !== undefined && facts?.readOnly !== true ? describeLiveRefusal(live, facts) : undefined;
  return { probes, live, refusal };
}
