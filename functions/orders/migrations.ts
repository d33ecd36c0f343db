// The orders database, in the order the migrations run.
import type { Knex } from 'knex';
import { createSharedTables, dropSharedTables } from '../lib/db.js';

export const migrations = {
  '001_purchases': {
    async up(db: Knex) {
      await db.raw(`
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
        CREATE INDEX purchases_by_user ON purchases (user_id, seq DESC);
      `);
      await createSharedTables(db);
    },
    async down(db: Knex) {
      await dropSharedTables(db);
      await db.raw('DROP TABLE purchases;');
    },
  },
};
