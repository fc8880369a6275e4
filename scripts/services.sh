# Shell functions that start the local services flask-abandon needs, when
# they are not already running. Sourced by scripts/test and scripts/demo.

# Whether something answers on 127.0.0.1:$1.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Redis on 127.0.0.1:6379, started without persistence if none answers.
ensure_redis() {
  port_open 6379 && return 0

  if ! command -v redis-server >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "Installing redis-server with apt-get..."
      apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    else
      echo "Redis is not running and redis-server is not installed." >&2
      echo "Install it (e.g. 'apt-get install redis-server') and try again." >&2
      return 1
    fi
  fi

  echo "Starting Redis on 127.0.0.1:6379..."
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" \
    --appendonly no --dir /tmp --logfile /tmp/flask-abandon-redis.log
  for _ in $(seq 50); do port_open 6379 && return 0; sleep 0.1; done
  echo "Redis did not start; see /tmp/flask-abandon-redis.log" >&2
  return 1
}

# PostgreSQL on 127.0.0.1:5432 where it is installed; tests skip it otherwise.
ensure_postgres() {
  port_open 5432 && return 0
  command -v pg_ctlcluster >/dev/null 2>&1 || return 0
  [ -d /etc/postgresql ] || return 0
  echo "Starting PostgreSQL..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start \
    || echo "PostgreSQL did not start; its tests will be skipped." >&2
}

# A virtual environment in .venv with the project and the given extras.
ensure_venv() {
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[$1]"
}

# Debian's Chromium for the browser tests, where apt-get can be used; the
# browser tests say they were skipped otherwise.
ensure_chromium() {
  command -v /usr/bin/chromium >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ] || return 0
  echo "Installing Chromium for the browser tests..."
  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
    || echo "Chromium could not be installed; browser tests will be skipped." >&2
}
