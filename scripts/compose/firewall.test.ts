// The rules that keep the run's containers inside this machine, read off either engine's network,
// and the connection probe that shows what a container can reach.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { must } from './exec.js';
import { confinementRules, connectCommand, ourRules, parseConnectResults, parseNetwork, ruleComment } from './firewall.js';

const podmanNetwork = JSON.stringify([
  { name: 'shoptest1_default', network_interface: 'podman3', subnets: [{ subnet: '10.89.2.0/24', gateway: '10.89.2.1' }], internal: false },
]);
const dockerNetwork = JSON.stringify([{ Name: 'shoptest1_default', Id: '5ab7b2601cf3d1e2f3a4', Options: {}, IPAM: { Config: [{ Subnet: '172.19.0.0/16', Gateway: '172.19.0.1' }] } }]);

describe('parseNetwork', () => {
  it("reads podman's and Docker's network inspect", () => {
    expect(parseNetwork(podmanNetwork)).toEqual({ name: 'shoptest1_default', bridge: 'podman3', gateway: '10.89.2.1', subnet: '10.89.2.0/24' });
    expect(parseNetwork(dockerNetwork)).toEqual({ name: 'shoptest1_default', bridge: 'br-5ab7b2601cf3', gateway: '172.19.0.1', subnet: '172.19.0.0/16' });
  });
});

describe('confinementRules', () => {
  const rules = confinementRules(parseNetwork(podmanNetwork), 'shoptest1');

  it('let a container ask the DNS for service names, then refuse any new connection to the host and any forwarding out', () => {
    const summary = rules.map((r) => [r[0], ...(r.includes('--dport') ? [r[r.indexOf('--dport') + 1]] : []), r.at(-1)].join(' '));
    expect(summary).toEqual(['INPUT 53 ACCEPT', 'INPUT 53 ACCEPT', 'INPUT REJECT', 'FORWARD REJECT']);
    for (const rule of rules) expect(rule.slice(1, 3)).toEqual(['-i', 'podman3']);
    expect(rules[3]).toContain('!');
    expect(rules[2]).toEqual(expect.arrayContaining(['--ctstate', 'NEW']));
  });

  it('are found again in iptables -S by their comment, as the arguments that delete them', () => {
    const listing = [
      '-P INPUT ACCEPT',
      `-A INPUT -d 10.89.2.1/32 -i podman3 -p udp -m udp --dport 53 -m comment --comment "${ruleComment('shoptest1')}" -j ACCEPT`,
      `-A FORWARD -i podman3 ! -o podman3 -m comment --comment "${ruleComment('shoptest1')}" -j REJECT --reject-with icmp-port-unreachable`,
      '-A FORWARD -m comment --comment "netavark firewall plugin rules" -j NETAVARK_FORWARD',
    ].join('\n');
    expect(ourRules(listing)).toEqual([
      { project: 'shoptest1', args: ['-D', 'INPUT', '-d', '10.89.2.1/32', '-i', 'podman3', '-p', 'udp', '-m', 'udp', '--dport', '53', '-m', 'comment', '--comment', 'shop test:compose shoptest1', '-j', 'ACCEPT'] },
      { project: 'shoptest1', args: ['-D', 'FORWARD', '-i', 'podman3', '!', '-o', 'podman3', '-m', 'comment', '--comment', 'shop test:compose shoptest1', '-j', 'REJECT', '--reject-with', 'icmp-port-unreachable'] },
    ]);
  });
});

describe('the connection probe', () => {
  it('tells a port that answers from one that refuses', async () => {
    const server = net.createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const open = (server.address() as net.AddressInfo).port;
    const closed = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    try {
      const targets = [{ host: '127.0.0.1', port: open }, { host: '127.0.0.1', port: closed }];
      const [program, ...args] = connectCommand(targets);
      expect(program).toBe('node');
      const results = parseConnectResults((await must(process.execPath, args)).stdout, targets);
      expect([...results.values()]).toEqual(['connected', 'ECONNREFUSED']);
    } finally {
      server.close();
    }
  });
});
