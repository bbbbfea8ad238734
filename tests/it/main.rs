//! Integration tests: one binary, a module per area.

mod alloc;
mod captures;
mod collector;
mod faults;
mod interop;
mod netfuzz;
mod observability;
mod store;
