// Where an idle order's time goes between the services, from the databases' own clocks: when each
// transaction on its way began (PostgreSQL's now() is the start of the transaction).
import pg from 'pg';

async function rows<T>(url: string, sql: string, values: unknown[]): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as T[];
  } finally {
    await client.end();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
};

/** The median of each hop, in milliseconds, over the orders given. */
export async function latencyStages(ordersUrl: string, paymentsUrl: string, orderIds: string[]) {
  const epoch = (column: string) => `extract(epoch FROM ${column}) * 1000`;
  const orders = await rows<{ id: string; created: number; requested: number; settled: number; announced: number }>(
    ordersUrl,
    `SELECT p.id, ${epoch('p.created_at')} AS created, ${epoch('p.updated_at')} AS settled,
            (SELECT ${epoch('sent_at')} FROM outbox WHERE correlation_id = p.id AND type = 'order.payment_requested') AS requested,
            (SELECT ${epoch('sent_at')} FROM outbox WHERE correlation_id = p.id AND type = 'order.status_changed') AS announced
       FROM purchases p WHERE p.id = ANY($1::uuid[])`,
    [orderIds],
  );
  const payments = new Map(
    (
      await rows<{ order_id: string; paid: number; answered: number }>(
        paymentsUrl,
        `SELECT order_id, ${epoch('created_at')} AS paid,
                (SELECT ${epoch('sent_at')} FROM outbox WHERE correlation_id = order_id) AS answered
           FROM payments WHERE order_id = ANY($1::uuid[])`,
        [orderIds],
      )
    ).map((r) => [r.order_id, r]),
  );
  const hops = orders.flatMap((o) => {
    const p = payments.get(o.id);
    return p ? [{ ...o, ...p }] : [];
  });
  return {
    'purchase written → its payment request published (orders relay)': median(hops.map((h) => h.requested - h.created)),
    'published → the payment written (payments consumer)': median(hops.map((h) => h.paid - h.requested)),
    'payment written → its result published (payments relay)': median(hops.map((h) => h.answered - h.paid)),
    'published → the order settled (orders consumer)': median(hops.map((h) => h.settled - h.answered)),
    'settled → its status published (orders relay)': median(hops.map((h) => h.announced - h.settled)),
  };
}
