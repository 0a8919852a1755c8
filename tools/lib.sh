# Shell helpers shared by tools/run, tools/demo and tools/bench.
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# wait_port PORT [TRIES]: until something listens on 127.0.0.1:PORT (bounded).
wait_port() {
  local tries=${2:-100}
  for _ in $(seq 1 "$tries"); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}
