// The orders card: the user's orders, newest first, each with its status as it changes.
import type { Purchase } from '../api.js';
import { formatMoney, formatTime, reasonText } from '../format.js';
import { Card } from '../ui.js';

function OrderRow({ order }: { order: Purchase }) {
  return (
    <li class="order" data-id={order.id} data-status={order.status}>
      <div class="order-line">
        <span class="order-description">{order.description}</span>
        <span class="order-amount">{formatMoney(order.amount)}</span>
      </div>
      <div class="order-line order-meta">
        <span class={`badge badge-${order.status.toLowerCase()}`}>{order.status}</span>
        <time dateTime={order.created_at}>{formatTime(order.created_at)}</time>
      </div>
      {order.reason && <p class="order-reason">{reasonText[order.reason] ?? order.reason}</p>}
    </li>
  );
}

/** `orders` is undefined while the first list is loading. */
export function OrdersCard({ orders }: { orders: Purchase[] | undefined }) {
  return (
    <Card id="orders-title" title="Your orders" class="orders">
      {orders === undefined ? (
        <p class="muted" aria-busy="true">
          Loading your orders…
        </p>
      ) : orders.length === 0 ? (
        <p class="muted">No orders yet. Place one and watch it get paid.</p>
      ) : (
        <ol class="order-list">
          {orders.map((order) => (
            <OrderRow key={order.id} order={order} />
          ))}
        </ol>
      )}
    </Card>
  );
}
