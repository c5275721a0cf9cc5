{
  description = "wasm-rr: record and replay WebAssembly components (WASI 0.2) by composition";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    rust-overlay.url = "github:oxalica/rust-overlay";
  };

  outputs = { self, nixpkgs, rust-overlay }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f (import nixpkgs {
        inherit system;
        overlays = [ rust-overlay.overlays.default ];
      }));
    in {
      # `nix develop`: the toolchain from rust-toolchain.toml (stable + wasm32-wasip2), a
      # wasmtime CLI, and clang and lld for the C fixtures (point WASI_SYSROOT at a wasi-libc
      # sysroot, e.g. from wasi-sdk); then `scripts/test` and `scripts/demo` work as in the
      # README.
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (pkgs.rust-bin.fromRustupToolchainFile ./rust-toolchain.toml)
            pkgs.wasmtime
            pkgs.llvmPackages.clang-unwrapped
            pkgs.llvmPackages.lld
          ];
        };
      });
    };
}
