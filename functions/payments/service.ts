// The payments service's composition root: its configuration and its pool, one per process.
import { serviceRoot } from '../lib/service.js';

export const payments = serviceRoot('payments');
