#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1; start the local ones when they are
# installed but stopped; fail with a clear message when they are absent.
set -u

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null \
  || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG \
  || { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && \
       [ "$(printf 'PING\r\n' | timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/6379; cat >&3; head -c 5 <&3')" = "+PONG" ]; }; }

wait_for() {  # name, check function
  for _ in $(seq 1 30); do "$2" && return 0; sleep 1; done
  echo "ERROR: $1 did not start within 30 s" >&2; return 1
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is stopped: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    wait_for PostgreSQL pg_up || exit 1
  else
    echo "ERROR: PostgreSQL is not answering on 127.0.0.1:5432 and is not installed here." >&2
    echo "       Install it (apt-get install postgresql) or set TEST_DATABASE_URL." >&2
    exit 1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "Redis is stopped: starting it"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir /tmp >/dev/null
    wait_for Redis redis_up || exit 1
  else
    echo "ERROR: Redis is not answering on 127.0.0.1:6379 and is not installed here." >&2
    echo "       Install it (apt-get install redis-server) or set TEST_REDIS_URL." >&2
    exit 1
  fi
fi
echo "PostgreSQL and Redis answer."
