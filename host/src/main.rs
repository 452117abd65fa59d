fn main() -> std::process::ExitCode {
    pikoci::cli::main()
}
