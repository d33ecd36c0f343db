// Scheduled (and woken by NOTIFY in the runner): publishes the payments outbox.
import { relayHandler } from '../lib/outbox.js';
import { config, store } from './store.js';

export const handler = relayHandler(config, () => store.db);
