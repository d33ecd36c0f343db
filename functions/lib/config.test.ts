import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';

describe('defaults', () => {
  it('work on a developer machine with PostgreSQL and RabbitMQ on localhost', () => {
    expect(loadConfig('payments', {})).toEqual({
      service: 'payments',
      port: 8001,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/shop_payments',
      databasePoolMax: 4,
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      amqpNamespace: 'shop',
      deliveryLimit: 20,
      relayBatchSize: 200,
      retentionHours: 168,
      scheduleIntervalMs: 0,
      paymentsUrl: 'http://127.0.0.1:8001',
      ordersUrl: 'http://127.0.0.1:8002',
      upstreamTimeoutMs: 10_000,
      shutdownTimeoutMs: 10_000,
    });
  });

  it('give each service its own port and database', () => {
    expect(loadConfig('orders', {})).toMatchObject({ port: 8002, databaseUrl: 'postgres://postgres@127.0.0.1:5432/shop_orders' });
    expect(loadConfig('gateway', {})).toMatchObject({ port: 8005 });
  });

  it('apply to a variable that is set but empty', () => {
    const config = loadConfig('orders', { PORT: '', DATABASE_URL: '', AMQP_NAMESPACE: '', AMQP_DELIVERY_LIMIT: '' });
    expect(config).toMatchObject({ port: 8002, databaseUrl: 'postgres://postgres@127.0.0.1:5432/shop_orders', amqpNamespace: 'shop', deliveryLimit: 20 });
  });
});

describe('values from the environment', () => {
  it('are read and converted', () => {
    const config = loadConfig('orders', {
      PORT: '9000',
      DATABASE_URL: 'postgresql://u:p@db:5432/orders',
      DATABASE_POOL_MAX: '10',
      AMQP_URL: 'amqps://u:p@mq:5671',
      AMQP_NAMESPACE: 'shop-test_1.a',
      AMQP_DELIVERY_LIMIT: '3',
      RELAY_BATCH_SIZE: '50',
      RETENTION_HOURS: '48',
      SCHEDULE_INTERVAL_MS: '250',
      PAYMENTS_URL: 'http://payments:8001',
      ORDERS_URL: 'http://orders:8002',
      UPSTREAM_TIMEOUT_MS: '500',
      SHUTDOWN_TIMEOUT_MS: '0',
    });
    expect(config).toEqual({
      service: 'orders',
      port: 9000,
      databaseUrl: 'postgresql://u:p@db:5432/orders',
      databasePoolMax: 10,
      amqpUrl: 'amqps://u:p@mq:5671',
      amqpNamespace: 'shop-test_1.a',
      deliveryLimit: 3,
      relayBatchSize: 50,
      retentionHours: 48,
      scheduleIntervalMs: 250,
      paymentsUrl: 'http://payments:8001',
      ordersUrl: 'http://orders:8002',
      upstreamTimeoutMs: 500,
      shutdownTimeoutMs: 0,
    });
  });

  it('PAYMENTS_DATABASE_URL wins over DATABASE_URL for payments only', () => {
    const env = { DATABASE_URL: 'postgres://db/shared', PAYMENTS_DATABASE_URL: 'postgres://db/payments' };
    expect(loadConfig('payments', env).databaseUrl).toBe('postgres://db/payments');
    expect(loadConfig('orders', env).databaseUrl).toBe('postgres://db/shared');
  });

  it('ORDERS_DATABASE_URL wins over DATABASE_URL for orders only', () => {
    const env = { DATABASE_URL: 'postgres://db/shared', ORDERS_DATABASE_URL: 'postgres://db/orders' };
    expect(loadConfig('orders', env).databaseUrl).toBe('postgres://db/orders');
    expect(loadConfig('payments', env).databaseUrl).toBe('postgres://db/shared');
  });

  it('accept the bounds of each range', () => {
    expect(loadConfig('gateway', { PORT: '0' }).port).toBe(0);
    expect(loadConfig('gateway', { PORT: '65535' }).port).toBe(65535);
    expect(loadConfig('gateway', { AMQP_DELIVERY_LIMIT: '1' }).deliveryLimit).toBe(1);
  });
});

describe('a bad value stops the process with an error naming the variable', () => {
  it.each([
    ['PORT', 'abc'],
    ['PORT', '-1'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['PORT', ' 80'],
    ['PORT', '1e3'],
    ['DATABASE_URL', 'mysql://x'],
    ['DATABASE_URL', 'not a url'],
    ['DATABASE_POOL_MAX', '0'],
    ['DATABASE_POOL_MAX', '101'],
    ['AMQP_URL', 'http://guest:guest@127.0.0.1:5672'],
    ['AMQP_NAMESPACE', 'Shop'],
    ['AMQP_NAMESPACE', 'shop test'],
    ['AMQP_NAMESPACE', '1shop'],
    ['AMQP_NAMESPACE', 'shop/test'],
    ['AMQP_DELIVERY_LIMIT', '0'],
    ['AMQP_DELIVERY_LIMIT', 'many'],
    ['RELAY_BATCH_SIZE', '10001'],
    ['RETENTION_HOURS', '23'],
    ['SCHEDULE_INTERVAL_MS', 'soon'],
    ['PAYMENTS_URL', 'https://payments'],
    ['ORDERS_URL', 'orders:8002'],
    ['UPSTREAM_TIMEOUT_MS', '0'],
    ['SHUTDOWN_TIMEOUT_MS', '-5'],
  ])('%s=%s', (variable, value) => {
    expect(() => loadConfig('orders', { [variable]: value })).toThrow(new RegExp(`^${variable} must .*"${value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`));
  });

  it('names PAYMENTS_DATABASE_URL when that is the one that is wrong', () => {
    expect(() => loadConfig('payments', { PAYMENTS_DATABASE_URL: 'mysql://x', DATABASE_URL: 'postgres://db/shared' })).toThrow(
      /^PAYMENTS_DATABASE_URL must start with postgres: or postgresql:/,
    );
  });

  it('ignores a bad DATABASE_URL-like variable of another service', () => {
    expect(loadConfig('payments', { ORDERS_DATABASE_URL: 'mysql://x' }).databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/shop_payments');
  });
});
