# Sourced (bash): render-conf, which turns the conf/ examples into a test's config. Used by the host suites
# (test/integration/common.sh) and the container suites (test/upstream-suites), so both run the same examples.
# Needs a fail-now function (both harnesses' common helpers define one).

# render-conf SRC DST: copy SRC to DST replacing every ${NAME} with the value of the shell variable NAME.
# Fails naming the variable when one is unset, so a template and a suite cannot silently disagree.
render-conf() {
  local src=$1 dst=$2 text name value
  text=$(<"$src")
  for name in $(grep -o '\${[A-Za-z_][A-Za-z0-9_]*}' "$src" | sort -u | tr -d '${}'); do
    [ -n "${!name+x}" ] || fail-now "render-conf: $src uses \${$name}, which is not set"
    value=${!name}
    text=${text//"\${$name}"/"$value"}
  done
  printf '%s\n' "$text" >"$dst"
}
