#!/bin/sh
# The official rabbitmq image's variables for Debian's RabbitMQ: RABBITMQ_DEFAULT_USER and
# RABBITMQ_DEFAULT_PASS become the default user; the server runs as rabbitmq, in the foreground.
set -eu
if [ "${1:-}" != rabbitmq-server ]; then exec "$@"; fi
{
  if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then echo "default_user = $RABBITMQ_DEFAULT_USER"; fi
  if [ -n "${RABBITMQ_DEFAULT_PASS:-}" ]; then echo "default_pass = $RABBITMQ_DEFAULT_PASS"; fi
} > /etc/rabbitmq/conf.d/20-default-user.conf
chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
shift
exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
