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
# round_medians FILE LABEL KEY1 KEY2 FIELD [EXTRA]: for each distinct pair
# of KEY1 and KEY2 values among FILE's key=value lines, one line
#   LABEL KEY1=.. KEY2=.. [EXTRA] runs=N FIELD_median=M FIELD_sorted=a,b,..
# where M is the median of FIELD over those lines (of two, the lower;
# numbers, units dropped), sorted by key. The benchmarks' rounds: one run's
# tail on a shared VM is one stall away from any figure.
round_medians() {
  awk -v label="$2" -v k1="$3" -v k2="$4" -v field="$5" -v extra="${6:-}" '
    { a1 = ""; a2 = ""; p = "";
      for (i = 1; i <= NF; i++) { split($i, kv, "=");
        if (kv[1] == k1) a1 = kv[2]; if (kv[1] == k2) a2 = kv[2];
        if (kv[1] == field) p = kv[2] + 0 }
      if (a1 != "" && p != "") { k = a1 " " a2; n[k]++; v[k, n[k]] = p } }
    END { for (k in n) { c = n[k]; for (i = 1; i <= c; i++) a[i] = v[k, i];
            for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++)
              if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x }
            list = a[1]; for (i = 2; i <= c; i++) list = list "," a[i];
            split(k, kk, " ");
            printf "%s %s=%s %s=%s %sruns=%d %s_median=%d %s_sorted=%s\n",
                   label, k1, kk[1], k2, kk[2], (extra == "" ? "" : extra " "),
                   c, field, a[int((c + 1) / 2)], field, list } }' "$1" | sort
}
