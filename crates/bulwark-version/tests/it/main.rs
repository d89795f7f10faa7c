//! bulwark-version's integration tests, one binary (one link step): the OS schemes against
//! their upstream projects' own vectors, and the language schemes against theirs.

mod conformance;
mod languages;
