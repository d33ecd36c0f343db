// `npm run dlq -- list` shows the dead letters of a namespace; `npm run dlq -- redrive <queue>
// --id <message_id> | --all` moves them back to the queue they died in. RabbitMQ from AMQP_URL,
// names from AMQP_NAMESPACE, as the services read them.
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '../functions/lib/config.js';
import { queueBindings } from '../functions/lib/topology.js';
import { listDeadLetters, redrive, renderListing, renderRedrive, UsageError, type Broker, type Selection } from './lib/deadLetters.js';

export { listDeadLetters, redrive, type Broker } from './lib/deadLetters.js';

export const usage = `usage: npm run dlq -- list [--json]
       npm run dlq -- redrive <queue> --id <message_id>
       npm run dlq -- redrive <queue> --all

  <queue>     a consumer queue (${Object.keys(queueBindings).join(', ')}),
              with or without its namespace, or its dead-letter queue (<namespace>.<queue>.dead)
  list        shows every dead letter of the namespace and leaves it where it is
  redrive     publishes dead letters back to the queue they died in (confirmed), then removes them

  environment: AMQP_URL (default amqp://guest:guest@127.0.0.1:5672), AMQP_NAMESPACE (default shop)`;

export type Command =
  | { command: 'list'; json: boolean }
  | { command: 'redrive'; queue: string; select: Selection }
  | { command: 'help' };

/** Reads the command line (without `node` and the script). Throws a UsageError that says what is wrong. */
export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (command === 'list') {
    const unknown = rest.filter((a) => a !== '--json');
    if (unknown.length) throw new UsageError(`list takes no argument but --json, got ${unknown.join(' ')}`);
    return { command: 'list', json: rest.includes('--json') };
  }
  if (command !== 'redrive') throw new UsageError(`unknown command "${command}": use list or redrive`);

  const [queue, ...flags] = rest;
  if (queue === undefined || queue.startsWith('--')) throw new UsageError('redrive needs the queue: redrive <queue> --id <message_id> | --all');
  let id: string | undefined;
  let all = false;
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i];
    if (flag === '--all') all = true;
    else if (flag === '--id') {
      id = flags[++i];
      if (id === undefined || id === '' || id.startsWith('--')) throw new UsageError('--id needs a message id');
    } else throw new UsageError(`unknown option "${flag}"`);
  }
  if (all && id !== undefined) throw new UsageError('give --id <message_id> or --all, not both');
  if (!all && id === undefined) throw new UsageError('say which dead letters to move: --id <message_id> for one, --all for every one');
  return { command: 'redrive', queue, select: id === undefined ? { all: true } : { id } };
}

/** The broker named by AMQP_URL and AMQP_NAMESPACE, checked as the services check them. */
export function brokerFromEnv(env: Record<string, string | undefined> = process.env): Broker {
  const config = loadConfig('gateway', { AMQP_URL: env.AMQP_URL, AMQP_NAMESPACE: env.AMQP_NAMESPACE });
  return { url: config.amqpUrl, namespace: config.amqpNamespace };
}

/** Runs one command; resolves with the exit code. */
export async function main(argv: readonly string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  let command: Command;
  let broker: Broker;
  try {
    command = parseArgs(argv);
    broker = brokerFromEnv(env);
  } catch (error) {
    console.error(`dlq: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (command.command === 'help') {
    console.log(usage);
    return 0;
  }
  try {
    if (command.command === 'list') {
      const listings = await listDeadLetters(broker);
      console.log(command.json ? JSON.stringify(listings, null, 2) : renderListing(listings));
      return 0;
    }
    const result = await redrive(broker, command.queue, command.select);
    console.log(renderRedrive(result));
    if ('id' in command.select && result.moved.length === 0 && result.left.length === 0) {
      console.error(`dlq: no dead letter with message id ${command.select.id} in ${result.deadLetterQueue}`);
      return 1;
    }
    return result.left.length ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`dlq: ${error.message}\n\n${usage}`);
      return 2;
    }
    console.error(`dlq: ${(error as Error).message || String(error)}`);
    return 1;
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) process.exitCode = await main(process.argv.slice(2));
