// Scheduled (and woken by NOTIFY in the runner): publishes the payments outbox.
import { relayHandler } from '../lib/outbox.js';
import { payments } from './service.js';

export const handler = relayHandler(payments);
