// Keeps the run's containers inside this machine: on the compose network's bridge, a container may
// reach the other containers and the engine's DNS for their names, and nothing else: no forwarding
// out of the bridge and no new connection to the host. Published ports still work: those
// connections come from the host, and only their answers cross back. Each rule carries the run's
// project name in a comment, so that it is removed after the run, or by a later run if this one died.
import type { Engine } from './engine.js';
import { must, run } from './exec.js';

interface Network { name: string; bridge: string; gateway: string; subnet: string }

/** The bridge of a network, from `docker network inspect` or `podman network inspect` (both JSON). */
export function parseNetwork(json: string): Network {
  // any: the JSON of either engine, read field by field below.
  const [raw] = JSON.parse(json) as Record<string, any>[];
  if (!raw) throw new Error('network inspect printed no network');
  if (raw.network_interface) {
    const subnet = raw.subnets?.[0];
    return { name: raw.name, bridge: raw.network_interface, gateway: subnet?.gateway, subnet: subnet?.subnet };
  }
  const ipam = raw.IPAM?.Config?.[0] ?? {};
  return { name: raw.Name, bridge: raw.Options?.['com.docker.network.bridge.name'] || `br-${String(raw.Id).slice(0, 12)}`, gateway: ipam.Gateway, subnet: ipam.Subnet };
}

export const ruleComment = (project: string) => `shop test:compose ${project}`;

/** The rules, in the order they must stand at the top of their chains. */
export function confinementRules(network: Network, project: string): string[][] {
  const tag = ['-m', 'comment', '--comment', ruleComment(project)];
  return [
    ['INPUT', '-i', network.bridge, '-d', network.gateway, '-p', 'udp', '--dport', '53', ...tag, '-j', 'ACCEPT'],
    ['INPUT', '-i', network.bridge, '-d', network.gateway, '-p', 'tcp', '--dport', '53', ...tag, '-j', 'ACCEPT'],
    ['INPUT', '-i', network.bridge, '-m', 'conntrack', '--ctstate', 'NEW', ...tag, '-j', 'REJECT'],
    ['FORWARD', '-i', network.bridge, '!', '-o', network.bridge, ...tag, '-j', 'REJECT'],
  ];
}

/** `iptables -S` lines of rules with our comment, as `iptables -D` arguments, by project. */
export function ourRules(listing: string): { project: string; args: string[] }[] {
  return listing
    .split('\n')
    .map((line) => /^-A (\S+) (.*--comment "shop test:compose (\S+)".*)$/.exec(line))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ project: m[3]!, args: ['-D', m[1]!, ...(m[2]!.match(/"[^"]*"|\S+/g) ?? []).map((w) => w.replace(/^"(.*)"$/, '$1'))] }));
}

export async function confine(network: Network, project: string): Promise<void> {
  // Inserted at the top in reverse, so they stand in the order given.
  for (const [chain, ...rule] of confinementRules(network, project).reverse()) await must('iptables', ['-I', chain!, '1', ...rule]);
}

/** Removes this project's rules, and those of earlier runs whose containers are gone. */
export async function release(engine: Engine, project: string): Promise<void> {
  const listing = await run('iptables', ['-S']);
  if (listing.code !== 0) return;
  for (const rule of ourRules(listing.stdout)) {
    if (rule.project !== project) {
      const left = await engine.tryCli(['ps', '-aq', '--filter', `label=com.docker.compose.project=${rule.project}`]);
      if (left.code !== 0 || left.stdout.trim()) continue;
    }
    await run('iptables', rule.args);
  }
}

/** A node script for inside a container: tries each host:port and prints what happened, as JSON. */
const connectScript = `
const net = require('node:net');
const targets = JSON.parse(process.argv[1]);
Promise.all(targets.map(({ host, port }) => new Promise((resolve) => {
  const socket = net.connect({ host, port, timeout: 3000 });
  const done = (result) => { socket.destroy(); resolve(result); };
  socket.once('connect', () => done('connected'));
  socket.once('error', (error) => done(error.code || error.message));
  socket.once('timeout', () => done('timed out'));
}))).then((results) => console.log(JSON.stringify(results)));
`;

export interface Target { host: string; port: number }

export function connectCommand(targets: readonly Target[]): string[] {
  return ['node', '-e', connectScript, JSON.stringify(targets)];
}

export function parseConnectResults(stdout: string, targets: readonly Target[]): Map<string, string> {
  const results = JSON.parse(stdout.trim().split('\n').at(-1)!) as string[];
  return new Map(targets.map((t, i) => [`${t.host}:${t.port}`, results[i] ?? 'no answer']));
}
