# Sourced by scripts/test, scripts/demo and .ci/run after scripts/setup: puts cargo's bin
# directory on PATH, and the stock wasmtime CLI that setup installed (target/tools/wasmtime-48)
# first, unless a wasmtime 48.0.x is already there.
export PATH="$HOME/.cargo/bin:$PATH"
if ! wasmtime --version 2>/dev/null | grep -q "^wasmtime 48\.0\."; then
  export PATH="$PWD/target/tools/wasmtime-48/wasmtime_cli:$PATH"
fi
