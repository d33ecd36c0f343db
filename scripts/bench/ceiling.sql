-- The ceiling: the three commits of one order as plain SQL, with no service in between. pgbench runs
-- this script as one "transaction", so its rate is orders per second.
--   1. orders: the purchase and its order.payment_requested message
--   2. payments: the inbox, the wallet locked and debited, the payment, the ledger entry, payment.succeeded
--   3. orders: the inbox, the purchase settled, order.status_changed
\set user random(1, 1000)
BEGIN;
INSERT INTO purchases (id, user_id, amount, description) VALUES (gen_random_uuid(), :user::bigint, 1.00, 'ceiling') RETURNING id \gset
INSERT INTO outbox (type, correlation_id, payload)
  VALUES ('order.payment_requested', :id::uuid, jsonb_build_object('order_id', :id::text, 'user_id', :user::bigint, 'amount', '1.00'));
COMMIT;
BEGIN;
INSERT INTO inbox (message_id, type) VALUES (gen_random_uuid(), 'order.payment_requested');
SELECT balance FROM wallets WHERE user_id = :user::bigint FOR UPDATE;
SELECT status FROM payments WHERE order_id = :id::uuid;
INSERT INTO payments (order_id, user_id, amount, status, message_id) VALUES (:id::uuid, :user::bigint, 1.00, 'succeeded', gen_random_uuid());
UPDATE wallets SET balance = balance - 1.00, updated_at = now() WHERE user_id = :user::bigint;
INSERT INTO ledger (user_id, amount, kind, order_id) VALUES (:user::bigint, -1.00, 'payment', :id::uuid);
INSERT INTO outbox (type, correlation_id, payload)
  VALUES ('payment.succeeded', :id::uuid, jsonb_build_object('order_id', :id::text, 'user_id', :user::bigint, 'amount', '1.00'));
COMMIT;
BEGIN;
INSERT INTO inbox (message_id, type) VALUES (gen_random_uuid(), 'payment.succeeded');
SELECT status FROM purchases WHERE id = :id::uuid FOR UPDATE;
UPDATE purchases SET status = 'FINISHED', updated_at = now() WHERE id = :id::uuid;
INSERT INTO outbox (type, correlation_id, payload)
  VALUES ('order.status_changed', :id::uuid, jsonb_build_object('order_id', :id::text, 'user_id', :user::bigint, 'status', 'FINISHED'));
COMMIT;
