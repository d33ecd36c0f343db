// Creates the orders database if it is missing and brings its schema up to date.
import { migrationHandler } from '../lib/migrate.js';
import { migrations } from './migrations.js';
import { orders } from './service.js';

export const handler = migrationHandler(orders, migrations);
