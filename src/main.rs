fn main() {
    std::process::exit(lamarrc::cli::main());
}
