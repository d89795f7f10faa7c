//! The package model and the package detectors.
//!
//! A detector looks at one file (its path, mode and bytes) and returns the packages it
//! declares. It does no I/O of its own: the image walker in `bulwark-image` decides which
//! files to read (by asking [`Detector::matches`]) and hands each one over whole, so that
//! images, archives and directories all look the same to a detector, and every detector
//! can be tested on a byte slice.

#![forbid(unsafe_code)]

pub mod detectors;
mod model;
mod package_type;
mod purl;

pub use detectors::{all_detectors, Detector, MAX_FILE_PACKAGES};
pub use model::{
    DetectError, Detection, FileInput, Inventory, LayerInfo, Location, OsInfo, Package, PackageType, Skipped,
    SourceInfo, SourcePackage,
};
pub use purl::purl_for;
