// `node dist/runner.mjs <service> [--only fn1,fn2]`: hosts one service from its bundles.
import { pathToFileURL } from 'node:url';
import { loadConfig, services } from '../functions/lib/config.js';
import { log } from '../functions/lib/log.js';
import type { Service } from './manifest.js';
import type { AnyHandler } from './host.js';
import { startRunner } from './runner.js';

const [service, flag, list] = process.argv.slice(2);
if (!(services as readonly string[]).includes(service ?? '') || (flag !== undefined && (flag !== '--only' || !list))) {
  console.error(`usage: runner <${services.join('|')}> [--only function,function]`);
  process.exit(2);
}

try {
  const runner = await startRunner({
    service: service as Service,
    config: loadConfig(service as Service),
    only: list?.split(','),
    // Each function is its own bundle beside this one, as it would be packaged for Lambda.
    load: async (fn) => {
      const module = (await import(pathToFileURL(`${import.meta.dirname}/${fn.module}.mjs`).href)) as Record<string, AnyHandler>;
      return module[fn.exportName]!;
    },
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('runner.stopping', { service, signal });
    runner.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('runner.stop_failed', { service, error });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
} catch (error) {
  log.error('runner.failed', { service, error });
  process.exit(1);
}
