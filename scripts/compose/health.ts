// Container health as compose sees it. podman runs healthchecks only from systemd timers, so where
// there is no systemd the run does it: `podman healthcheck run` every 2 s for a container still
// starting, and at its own interval once it is healthy or unhealthy.
import type { Engine } from './engine.js';
import { sleep } from './exec.js';

interface ContainerState { id: string; name: string; status: string }

type Health = 'healthy' | 'unhealthy' | 'starting' | 'none' | 'down';

/** Health from a `ps` status: "Up 3 minutes (healthy)", "Up 2 seconds (health: starting)", "Exited (137) ...". */
export function healthOf(status: string): Health {
  if (!/^Up\b/i.test(status)) return 'down';
  return (/\((?:health: )?(healthy|unhealthy|starting)\)/.exec(status)?.[1] as Health | undefined) ?? 'none';
}

/**
 * The depends_on edges where a container started before what it waits for was healthy, allowing
 * `slackMs` for the time between a check passing and the loop noting it.
 */
export function startedTooSoon(
  edges: readonly { service: string; startedAt: number; dependency: string; healthyAt: number | undefined }[],
  slackMs = 1_500,
): string[] {
  return edges
    .filter((e) => e.healthyAt === undefined || e.startedAt < e.healthyAt - slackMs)
    .map((e) => `${e.service} started ${e.healthyAt === undefined ? `while ${e.dependency} was never healthy` : `${e.healthyAt - e.startedAt} ms before ${e.dependency} was healthy`}`);
}

export async function projectContainers(engine: Engine, project: string): Promise<ContainerState[]> {
  const listed = await engine.cli(['ps', '-a', '--no-trunc', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.ID}}\t{{.Names}}\t{{.Status}}']);
  return listed.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, name, status] = line.split('\t');
      return { id: id!, name: name!, status: status ?? '' };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

export interface HealthLoop {
  /** When a container's healthcheck first passed (this loop runs every check, so it knows) */
  firstHealthy(id: string): number | undefined;
  stop(): Promise<void>;
}

export function runHealthchecks(engine: Engine, project: string): HealthLoop {
  let running = true;
  const lastRun = new Map<string, number>();
  const passed = new Map<string, number>();
  const intervals = new Map<string, number>();
  const intervalOf = async (id: string) => {
    if (!intervals.has(id)) {
      const inspected = await engine.tryCli(['inspect', '--format', '{{.Config.Healthcheck.Interval}}', id]);
      intervals.set(id, Number(inspected.stdout.trim()) / 1e6 || 10_000);
    }
    return intervals.get(id)!;
  };
  const loop = (async () => {
    while (running) {
      const containers = await projectContainers(engine, project).catch(() => []);
      await Promise.all(
        containers.map(async (c) => {
          const health = healthOf(c.status);
          if (health === 'none' || health === 'down') return;
          if (health !== 'starting' && Date.now() - (lastRun.get(c.id) ?? 0) < (await intervalOf(c.id))) return;
          lastRun.set(c.id, Date.now());
          const checked = await engine.tryCli(['healthcheck', 'run', c.id], { timeoutMs: 60_000 });
          if (checked.code === 0 && !passed.has(c.id)) passed.set(c.id, Date.now());
        }),
      );
      await sleep(2_000);
    }
  })();
  return {
    firstHealthy: (id) => passed.get(id),
    async stop() {
      running = false;
      await loop;
    },
  };
}
