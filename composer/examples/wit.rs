//! Prints a component's WIT: `cargo run -p wasm-rr-composer --example wit -- COMPONENT`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: wit COMPONENT")?;
    let bytes = std::fs::read(&path)?;
    let decoded = wit_component::decode(&bytes)?;
    let mut printer = wit_component::WitPrinter::default();
    printer.print(decoded.resolve(), decoded.package(), &[])?;
    println!("{}", printer.output);
    Ok(())
}
