// docker-compose on the repository's own docker-compose.yml, unchanged, as one project of the run's:
// its host ports moved to free ones on loopback through the file's port variables.
import { parse } from 'yaml';
import type { Engine } from './engine.js';
import { must, run, type Ran, type RunOptions } from './exec.js';
import type { ComposeConfig } from './images.js';

/** The compose file's host port variables, and the port each one publishes in its container. */
export const portVariables = {
  web: { variable: 'WEB_PORT', target: 80 },
  gateway: { variable: 'GATEWAY_PORT', target: 8005 },
  payments: { variable: 'PAYMENTS_PORT', target: 8001 },
  orders: { variable: 'ORDERS_PORT', target: 8002 },
  rabbitmqManagement: { variable: 'RABBITMQ_MANAGEMENT_PORT', target: 15672 },
} as const;

export type Published = keyof typeof portVariables;

export class Compose {
  readonly env: Record<string, string>;

  constructor(
    readonly engine: Engine,
    readonly root: string,
    readonly project: string,
    readonly ports: Record<Published, number>,
  ) {
    const published = Object.entries(portVariables).map(([name, { variable }]) => [variable, `127.0.0.1:${ports[name as Published]}`]);
    this.env = { ...engine.composeEnv, ...Object.fromEntries(published) };
  }

  private args(args: readonly string[]): string[] {
    return ['-p', this.project, '-f', `${this.root}/docker-compose.yml`, '--ansi', 'never', ...args];
  }

  run(args: readonly string[], options: RunOptions = {}): Promise<Ran> {
    return run('docker-compose', this.args(args), { cwd: this.root, ...options, env: { ...this.env, ...options.env } });
  }

  must(args: readonly string[], options: RunOptions = {}): Promise<Ran> {
    return must('docker-compose', this.args(args), { cwd: this.root, ...options, env: { ...this.env, ...options.env } });
  }

  async config(): Promise<ComposeConfig> {
    return parse((await this.must(['config'])).stdout) as ComposeConfig;
  }

  /** The ids of a service's containers, by their compose index (1, 2, ...). */
  async containers(service: string): Promise<{ index: number; id: string; name: string }[]> {
    const ids = (await this.must(['ps', '-q', service])).stdout.trim().split('\n').filter(Boolean);
    const found = await Promise.all(
      ids.map(async (id) => {
        const inspected = await this.engine.cli(['inspect', '--format', '{{index .Config.Labels "com.docker.compose.container-number"}}\t{{.Name}}', id]);
        const [index, name] = inspected.stdout.trim().split('\t');
        return { index: Number(index), id, name: name!.replace(/^\//, '') };
      }),
    );
    return found.sort((a, b) => a.index - b.index);
  }

  /** A command in a service's container (its first unless `index`); the output, or CommandFailed. */
  exec(service: string, command: readonly string[], index = 1): Promise<Ran> {
    return this.must(['exec', '-T', '--index', String(index), service, ...command], { timeoutMs: 60_000 });
  }

  /** Containers, network and volumes of the project; the images stay. */
  async down(): Promise<Ran> {
    return this.run(['down', '-v', '--remove-orphans', '--timeout', '10'], { timeoutMs: 5 * 60_000 });
  }
}

/** A compose project name of the run's own: lower-case letters and digits, as compose keeps them. */
export function projectName(random: string): string {
  return `shoptest${random.toLowerCase().replace(/[^a-z0-9]/g, '')}`;
}
