#!/bin/sh
# Writes rabbitmq.conf from the environment (the default user for a fresh node; clients from any
# address), then starts the server (or the given command).
set -eu
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  echo "management.tcp.port = 15672"
  if [ -n "${RABBITMQ_DEFAULT_USER:-}" ]; then
    echo "default_user = $RABBITMQ_DEFAULT_USER"
    echo "default_pass = ${RABBITMQ_DEFAULT_PASS:?RABBITMQ_DEFAULT_PASS must be set}"
  fi
} >/etc/rabbitmq/rabbitmq.conf
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
  umask 077
  printf '%s' "$RABBITMQ_ERLANG_COOKIE" >"$HOME/.erlang.cookie"
fi
exec "$@"
