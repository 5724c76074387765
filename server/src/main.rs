use std::process::ExitCode;

// jemalloc returns memory freed by one thread to the others instead of keeping it in
// per-thread arenas as glibc does: the parser and the writer run on different threads,
// and a 100 MB report's peak RSS is set by what the allocator keeps.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    server::cli::run().await
}
