// `npm start`: the three services, each its own process, as `docker compose up` runs them.
import { spawn, type ChildProcess } from 'node:child_process';
import { services } from '../functions/lib/config.js';

const children: ChildProcess[] = services.map((service) => {
  const child = spawn(process.execPath, [`${import.meta.dirname}/runner.mjs`, service], { stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${service} exited (${signal ?? code}); stopping the others`);
      stop('SIGTERM', code ?? 1);
    }
  });
  return child;
});

let stopping = false;
let exitCode = 0;
function stop(signal: NodeJS.Signals, code: number): void {
  stopping = true;
  exitCode = code;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
}

process.on('SIGINT', () => stop('SIGTERM', 0));
process.on('SIGTERM', () => stop('SIGTERM', 0));
let exited = 0;
for (const child of children) child.on('exit', () => ++exited === children.length && process.exit(exitCode));
console.log('Shop: http://127.0.0.1:8005 (the shop at /, Swagger UI at /docs); payments on 8001, orders on 8002');
