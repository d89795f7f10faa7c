//! Go binaries in a real image built in the test with umoci: Syft's own executable (hundreds
//! of modules in its build info) and Debian's umoci (built by Debian: main path only).
//! The image is then read through bulwark's OCI source like any other.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a failed unwrap is a failed test

use bulwark_catalog::PackageType;
use std::process::Command;

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn go_binaries_in_an_umoci_image() {
    let syft = bulwark_testkit::require_peer!("syft");
    let umoci = bulwark_testkit::require_tool!("umoci");
    let t = tempfile::tempdir().unwrap();
    let layout = t.path().join("layout");
    let bundle = t.path().join("bundle");
    run(Command::new("umoci").arg("init").arg("--layout").arg(&layout));
    run(Command::new("umoci").arg("new").arg("--image").arg(format!("{}:go", layout.display())));
    run(Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:go", layout.display()))
        .arg(&bundle));
    let bin = bundle.join("rootfs/usr/local/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(&syft, bin.join("syft")).unwrap();
    std::fs::copy(&umoci, bin.join("umoci")).unwrap();
    run(Command::new("umoci").args(["repack", "--image"]).arg(format!("{}:go", layout.display())).arg(&bundle));

    let opts = bulwark_image::Options { no_cache: true, ..Default::default() };
    let inv = bulwark_image::catalog(&format!("oci-dir:{}:go", layout.display()), &opts).unwrap();
    let from = |p: &str| inv.packages.iter().filter(|x| x.location.path == p).collect::<Vec<_>>();
    let syft_mods = from("/usr/local/bin/syft");
    // Syft 1.18.1's build info lists 185 dependencies, plus the main module and stdlib.
    assert_eq!(syft_mods.len(), 187, "modules read from syft");
    assert!(syft_mods.iter().all(|p| p.kind == PackageType::GoModule));
    let has = |name: &str| syft_mods.iter().find(|p| p.name == name).map(|p| p.version.clone());
    assert_eq!(has("github.com/anchore/syft").as_deref(), Some("v1.18.1"));
    assert!(has("github.com/anchore/stereoscope").is_some_and(|v| v.starts_with('v')));
    assert!(has("github.com/spf13/cobra").is_some_and(|v| v.starts_with('v')));
    assert!(has("stdlib").is_some_and(|v| v.starts_with("go1.")), "stdlib: {:?}", has("stdlib"));
    assert!(syft_mods.iter().all(|p| p.purl.starts_with("pkg:golang/")));
    // Debian's build: the main module's path, no versions of dependencies.
    let umoci_mods = from("/usr/local/bin/umoci");
    assert_eq!(umoci_mods.len(), 2, "{umoci_mods:?}");
    assert!(umoci_mods.iter().any(|p| p.name.contains("umoci") && p.version == "(devel)"), "{umoci_mods:?}");
    assert!(umoci_mods.iter().any(|p| p.name == "stdlib" && p.version.starts_with("go1.")), "{umoci_mods:?}");
}
