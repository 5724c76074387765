//! Bosun's integration and browser tests, one binary (linking the whole app once, not once
//! per file). Each module is one area; every test gets its own database and server from
//! `bosun_tests::spawn_app`. `upload_memory.rs` stays a binary of its own: it measures the
//! process's peak memory, which must hold nothing but its one test.

mod access;
mod admin;
mod api;
mod assignment;
mod audit;
mod auth;
mod browser;
mod bulk;
mod cli;
mod comments;
mod corpus;
mod explorer;
mod finding_page;
mod gate;
mod identity;
mod my_work;
mod outbox;
mod overview;
mod producers;
mod project_settings;
mod projects;
mod rbac;
mod references;
mod reimport;
mod routing;
mod runtime;
mod scan_history;
mod security;
mod seed;
mod sla;
mod triage;
