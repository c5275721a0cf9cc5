//! Prints a component's imports and exports: `cargo run -p wasm-rr-composer --example world -- APP`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: world COMPONENT")?;
    let bytes = std::fs::read(&path)?;
    let (imports, exports) = wasm_rr_composer::component_world(&bytes)?;
    for i in imports {
        println!("import {i}");
    }
    for e in exports {
        println!("export {e}");
    }
    Ok(())
}
