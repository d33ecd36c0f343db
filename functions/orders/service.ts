// The orders service's composition root: its configuration and its pool, one per process.
import { serviceRoot } from '../lib/service.js';

export const orders = serviceRoot('orders');
