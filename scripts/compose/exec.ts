// Programs the compose run calls: each one's output is kept, and a failure names the command and
// ends with the last lines it printed.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Kills the program (SIGTERM) when it aborts */
  signal?: AbortSignal;
}

class CommandFailed extends Error {
  constructor(
    readonly command: string,
    readonly ran: Ran,
  ) {
    const tail = `${ran.stdout}\n${ran.stderr}`.trim().split('\n').slice(-15).join('\n');
    super(`${command} failed (exit ${ran.code}):\n${tail}`);
  }
}

function commandLine(program: string, args: readonly string[]): string {
  return [program, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Once the run is interrupted, what runs is stopped and only its clean-up starts programs. */
const lifecycle = { interrupted: false, cleaningUp: false };
const children = new Set<ChildProcess>();

export function interrupt(): void {
  lifecycle.interrupted = true;
  for (const child of children) child.kill('SIGTERM');
}

export function beginCleanUp(): void {
  lifecycle.cleaningUp = true;
}

const interrupted = () => lifecycle.interrupted && !lifecycle.cleaningUp;

/** Runs a program to its end; never throws for its exit code (see `must`). */
export function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  if (interrupted()) return Promise.resolve({ code: 130, stdout: '', stderr: `${program}: not started, the run was interrupted` });
  return new Promise((resolve) => {
    const child = spawn(program, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    const abort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', abort);
    const finish = (code: number, extra = '') => {
      children.delete(child);
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener('abort', abort);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() + extra });
    };
    child.on('error', (error) => finish(127, `${program}: ${error.message}`));
    child.on('close', (code, signal) => finish(code ?? 128, signal ? `\n(killed by ${signal}${options.timeoutMs ? ` after ${options.timeoutMs} ms` : ''})` : ''));
  });
}

/** Runs a program and returns its output; throws CommandFailed on a non-zero exit. */
export async function must(program: string, args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  const ran = await run(program, args, options);
  if (ran.code !== 0) throw new CommandFailed(commandLine(program, args), ran);
  return ran;
}

/**
 * A program left running in the background (an API socket's server), in a process group of its
 * own so that a Ctrl-C of the run leaves it to serve the clean-up; stopped by its pid.
 */
export interface Background {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function background(program: string, args: readonly string[], env: Record<string, string | undefined> = {}): Background {
  const child = spawn(program, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('error', (error) => keep(Buffer.from(`${program}: ${error.message}\n`)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` gives a value, or throws naming what it waited for. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (interrupted()) throw new Error(`interrupted while waiting for ${what}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`);
    await sleep(everyMs);
  }
}
