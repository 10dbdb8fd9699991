//! provtrack: fingerprint dataset shards with BLAKE3, link them to the source platforms and
//! licences they came under, and report which trained datasets include content from
//! sources that did not permit that use.
//!
//! Modules own one concern each, from the ground up: [`types`], [`values`] and [`digest`]
//! (plain values every layer shares), [`registry`] (storage), [`policy`] (policy files),
//! [`licence`] (catalogue), [`scan`] (walk and hash), [`attribute`] (records and URLs),
//! [`verdict`] (permission semantics), [`training`] (the rules of a training run),
//! [`report`] (findings), [`audit`], [`lineage`],
//! [`export`] (SPDX, CycloneDX, the HTML report), [`card`] (dataset cards), [`events`]
//! (hash chain), [`checkpoint`] (signed checkpoints and their keys), [`output`] (formats), [`cli`] and [`cmd`] (the command line), [`demo`]
//! (bundled samples).

pub mod attribute;
pub mod audit;
pub mod audit_hosts;
pub mod card;
pub mod checkpoint;
pub mod cli;
pub mod cmd;
pub mod demo;
pub mod digest;
pub mod error;
pub mod events;
pub mod export;
pub mod gate;
pub mod hosts;
pub mod licence;
pub mod lineage;
pub mod membership;
pub mod optout;
pub mod output;
pub mod policy;
pub mod policy_rights;
pub mod prints;
pub mod registry;
#[cfg(feature = "s3")]
pub mod remote;
pub mod report;
pub mod rights;
pub mod scan;
pub mod suggest;
pub mod summary;
pub mod synth;
pub mod training;
pub mod types;
pub mod values;
pub mod verdict;
pub mod verify;

pub use error::{Error, Result};
