//! Integration tests: the real server on port 0, a real tonic client over
//! TCP, and a real database per test (SQLite, and PostgreSQL when
//! `BADGES_TEST_POSTGRES_URL` is set).

mod abuse;
mod admin;
mod catalogue;
mod cli;
mod common;
mod consistency;
mod customer_writes;
mod demo;
mod deploy;
mod detail;
mod differential;
mod earn_limits;
mod errors;
mod events;
mod faults;
mod hostile;
mod isolation;
mod limits;
mod list;
mod org_keys;
mod plans;
mod reference;
mod rest;
mod rights;
mod server;
mod state_rows;
mod statements;
mod telemetry;
mod unread;
