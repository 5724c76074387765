// `sqlx::migrate!` embeds migrations/ when this crate compiles, but cargo does not know it
// reads that folder: without this, a new migration file leaves a stale binary that refuses
// a database the tests already migrated further.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
