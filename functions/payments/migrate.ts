// Creates the payments database if it is missing and brings its schema up to date.
import { migrationHandler } from '../lib/db.js';
import { migrations } from './migrations.js';
import { config, store } from './store.js';

export const handler = migrationHandler(config.databaseUrl, () => store.db, migrations);
