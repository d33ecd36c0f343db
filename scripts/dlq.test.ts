import { describe, expect, it } from 'vitest';
import { brokerFromEnv, main, parseArgs } from './dlq.js';
import { redacted, UsageError } from './lib/deadLetters.js';

const messageId = 'c5a7e2f0-8d6b-4a3e-b1c9-7e4d2a6f0b58';

describe('parseArgs', () => {
  it('reads list, with or without --json', () => {
    expect(parseArgs(['list'])).toEqual({ command: 'list', json: false });
    expect(parseArgs(['list', '--json'])).toEqual({ command: 'list', json: true });
  });

  it('reads redrive of one message or of all', () => {
    expect(parseArgs(['redrive', 'payments.process-payment', '--id', messageId])).toEqual({
      command: 'redrive',
      queue: 'payments.process-payment',
      select: { id: messageId },
    });
    expect(parseArgs(['redrive', 'shop.payments.process-payment.dead', '--all'])).toEqual({
      command: 'redrive',
      queue: 'shop.payments.process-payment.dead',
      select: { all: true },
    });
  });

  it('answers help with no command', () => {
    expect(parseArgs([])).toEqual({ command: 'help' });
    expect(parseArgs(['--help'])).toEqual({ command: 'help' });
  });

  it.each([
    [['lsit'], /unknown command "lsit"/],
    [['list', '--all'], /list takes no argument but --json/],
    [['redrive'], /redrive needs the queue/],
    [['redrive', '--all'], /redrive needs the queue/],
    [['redrive', 'payments.process-payment'], /--id <message_id> for one, --all for every one/],
    [['redrive', 'payments.process-payment', '--id'], /--id needs a message id/],
    [['redrive', 'payments.process-payment', '--id', '--all'], /--id needs a message id/],
    [['redrive', 'payments.process-payment', '--id', messageId, '--all'], /not both/],
    [['redrive', 'payments.process-payment', '--force'], /unknown option "--force"/],
  ])('refuses %j with a usage error that says what is wrong', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(UsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('configuration and the command line', () => {
  it('reads AMQP_URL and AMQP_NAMESPACE as the services do, and hides the password when printing', () => {
    expect(brokerFromEnv({})).toEqual({ url: 'amqp://guest:guest@127.0.0.1:5672', namespace: 'shop' });
    expect(() => brokerFromEnv({ AMQP_NAMESPACE: 'Shop!' })).toThrow(/AMQP_NAMESPACE/);
    expect(redacted('amqp://guest:secret@rabbit:5672/')).toBe('amqp://guest:***@rabbit:5672/');
  });

  it('exits 2 on a usage error or a bad variable, and 1 when the broker cannot be reached', async () => {
    const quiet = { log: console.log, error: console.error };
    const printed: string[] = [];
    console.log = console.error = (text: string) => printed.push(text);
    try {
      expect(await main(['redrive', 'payments.process-payment'])).toBe(2);
      expect(await main(['list'], { AMQP_URL: 'http://rabbit' })).toBe(2);
      expect(await main(['redrive', 'nothing', '--all'], { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' })).toBe(2);
      expect(await main(['list'], { AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' })).toBe(1);
    } finally {
      Object.assign(console, quiet);
    }
    expect(printed.join('\n')).toMatch(/AMQP_URL must start with amqp: or amqps:/);
    expect(printed.at(-1)).toMatch(/^dlq: cannot reach RabbitMQ at amqp:\/\/guest:\*\*\*@127.0.0.1:1: .*ECONNREFUSED/);
  });
});
