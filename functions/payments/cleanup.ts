// Scheduled: deletes old sent outbox rows, old inbox rows and expired idempotency keys.
import { cleanupHandler } from '../lib/retention.js';
import { config, store } from './store.js';

export const handler = cleanupHandler(config, () => store.db);
