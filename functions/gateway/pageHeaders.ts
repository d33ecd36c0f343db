// The headers of the shop's page wherever it is served (the gateway, the desktop app): everything the
// page loads is its own, no inline script or style, no other origin.
export const pageHeaders = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};
