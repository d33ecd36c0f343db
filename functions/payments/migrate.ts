// Creates the payments database if it is missing and brings its schema up to date.
import { migrationHandler } from '../lib/migrate.js';
import { migrations } from './migrations.js';
import { payments } from './service.js';

export const handler = migrationHandler(payments, migrations);
