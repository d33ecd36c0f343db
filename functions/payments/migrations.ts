// The payments database, in the order the migrations run.
import { sharedTables, type Migrations } from '../lib/migrate.js';

export const migrations: Migrations = {
  '001_shared_tables': sharedTables,
  '002_wallets_ledger_payments': `
    CREATE TABLE wallets (
      user_id bigint PRIMARY KEY CHECK (user_id > 0),
      balance numeric(20, 2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    -- Every change of a balance; a wallet's balance is the sum of its entries.
    CREATE TABLE ledger (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      user_id bigint NOT NULL REFERENCES wallets,
      amount numeric(20, 2) NOT NULL CHECK (amount <> 0),
      kind text NOT NULL CHECK (kind IN ('deposit', 'payment')),
      order_id uuid UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      CHECK ((kind = 'payment') = (order_id IS NOT NULL AND amount < 0))
    );
    CREATE INDEX ledger_user ON ledger (user_id);
    -- The outcome for each order, paid or refused: at most one, so an order is debited at most once.
    CREATE TABLE payments (
      order_id uuid PRIMARY KEY,
      user_id bigint NOT NULL,
      amount numeric(14, 2) NOT NULL CHECK (amount > 0),
      status text NOT NULL CHECK (status IN ('succeeded', 'refused')),
      reason text CHECK ((status = 'refused') = (reason IS NOT NULL)),
      message_id uuid NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );`,
};
