// Scheduled (and woken by NOTIFY in the runner): publishes the orders outbox.
import { relayHandler } from '../lib/outbox.js';
import { orders } from './service.js';

export const handler = relayHandler(orders);
