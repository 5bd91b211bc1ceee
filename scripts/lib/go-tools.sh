# Go programs the project pins in a tools module of its own (tools/<name>/go.mod) and installs into a
# bin directory: the module proxy here refuses `go install pkg@version` outside a module.
# Sourced by scripts/install-spire.sh and scripts/install-helm.sh.

# go_tool_pin DIR MODULE VERSION PACKAGE...: makes each PACKAGE (of MODULE) a `tool` of the module in DIR
# at VERSION, unless go.mod already requires MODULE at VERSION.
go_tool_pin() {
  local dir=$1 module=$2 version=$3 pkg
  shift 3
  command -v go >/dev/null || { echo "$(basename "$0"): Go is required (go.dev toolchain on PATH)" >&2; return 1; }
  grep -q "$module $version" "$dir/go.mod" 2>/dev/null && return 0
  local args=()
  for pkg in "$@"; do args+=("$pkg@$version"); done
  (cd "$dir" && go get -tool "${args[@]}")
}

# go_tool_install DIR BIN LDFLAGS PACKAGE...: builds the pinned PACKAGEs of the module in DIR into BIN.
go_tool_install() {
  local dir=$1 bin=$2 ldflags=$3
  shift 3
  mkdir -p "$bin"
  (cd "$dir" && GOBIN="$bin" go install -ldflags "$ldflags" "$@")
}
