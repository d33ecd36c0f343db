// The orders database, in the order the migrations run.
import { sharedTables, type Migrations } from '../lib/migrate.js';

export const migrations: Migrations = {
  '001_shared_tables': sharedTables,
  '002_purchases': `
    CREATE TABLE purchases (
      id uuid PRIMARY KEY,
      -- Orders the list newest first and cuts its pages.
      seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      user_id bigint NOT NULL CHECK (user_id > 0),
      amount numeric(14, 2) NOT NULL CHECK (amount > 0),
      description text NOT NULL,
      status text NOT NULL DEFAULT 'NEW' CHECK (status IN ('NEW', 'FINISHED', 'CANCELLED')),
      reason text CHECK ((status = 'CANCELLED') = (reason IS NOT NULL)),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX purchases_by_user ON purchases (user_id, seq DESC);`,
};
