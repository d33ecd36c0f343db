// Scheduled: deletes old sent outbox rows, old inbox rows and expired idempotency keys.
import { cleanupHandler } from '../lib/retention.js';
import { payments } from './service.js';

export const handler = cleanupHandler(payments);
