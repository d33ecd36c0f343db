// What every service's composition root holds: its configuration and its database pool, made once
// per process at first use (as on Lambda: outside the handler, kept between invocations), so that
// importing a handler or a store opens nothing and reads no environment.
import { loadConfig, type Config, type ServiceName } from './config.js';
import { createPool, type Db } from './db.js';

export interface Service {
  readonly config: Config;
  readonly db: Db;
}

export function serviceRoot(name: ServiceName): Service {
  let config: Config | undefined;
  let db: Db | undefined;
  return {
    get config() {
      return (config ??= loadConfig(name));
    },
    get db() {
      return (db ??= createPool(this.config.databaseUrl, this.config.databasePoolMax));
    },
  };
}
