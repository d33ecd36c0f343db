// The shop front: pick a user, keep a wallet, place orders and watch each one get paid or cancelled.
import { AccountCard } from './cards/AccountCard.js';
import { NewOrderCard } from './cards/NewOrderCard.js';
import { OrdersCard } from './cards/OrdersCard.js';
import type { LiveMode } from './live.js';
import { useShop } from './useShop.js';

function LiveBadge({ mode }: { mode: LiveMode }) {
  const text = { live: 'Live', connecting: 'Connecting…', polling: 'Checking every few seconds' }[mode];
  return (
    <p class={`live live-${mode}`} role="status" title="How order statuses reach this page">
      <span class="dot" aria-hidden="true" />
      {text}
    </p>
  );
}

export function App() {
  const shop = useShop();
  const { userId } = shop;
  return (
    <>
      <header class="top">
        <div class="top-inner">
          <h1 class="brand">
            <svg viewBox="0 0 24 24" aria-hidden="true" class="brand-icon">
              <path d="M6 8h12l-1 12H7L6 8Z" fill="currentColor" />
              <path d="M9 8V6a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="2" />
            </svg>
            Shop
          </h1>
          {userId !== undefined && <LiveBadge mode={shop.mode} />}
        </div>
      </header>
      {shop.unreachable && (
        <div class="banner" role="alert">
          <p>{shop.unreachable}</p>
          <button type="button" class="button secondary" onClick={shop.refresh}>
            Retry
          </button>
        </div>
      )}
      <main class="layout">
        <AccountCard userId={userId} wallet={shop.wallet} onChoose={shop.choose} onWallet={shop.showWallet} />
        {userId !== undefined && <NewOrderCard userId={userId} onPlaced={shop.placed} />}
        {userId !== undefined && <OrdersCard orders={shop.orders} />}
      </main>
      <p class="visually-hidden" role="status" aria-live="polite">
        {shop.announcement}
      </p>
    </>
  );
}
