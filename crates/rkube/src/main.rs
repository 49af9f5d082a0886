//! The `rkube` command-line tool.

fn main() {
    println!("rkube {}", env!("CARGO_PKG_VERSION"));
}
