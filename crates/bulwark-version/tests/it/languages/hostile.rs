//! Hostile input: no scheme may panic or hang on any string, errors name their scheme, and the
//! order stays an order (reflexive, antisymmetric, transitive) on whatever parses.

use std::cmp::Ordering;
use std::time::{Duration, Instant};

use bulwark_version::{scheme_for, VersionScheme};

const ECOSYSTEMS: &[&str] = &["PyPI", "npm", "Go", "Maven", "RubyGems", "NuGet", "Packagist"];

/// Valid-looking seeds that mutations start from, one mix for all schemes.
const SEEDS: &[&str] = &[
    "1.0.0",
    "v1.2.3-alpha.1+build.5",
    "1!2.0.post1.dev3+ubuntu.1",
    "1.0rc1",
    "go1.21rc2",
    "v0.0.0-20191109021931-daa7c04131f5",
    "v2.0.0+incompatible",
    "1.0-alpha-1-SNAPSHOT",
    "1.0.final-redhat",
    "1.8.2.a10",
    "1.0.0-BETA.X.y.5.77.0+AA",
    "1.3.42.200930-RC-2",
    "20100102-203040-p1",
    "dev-feature/foo",
    "1.x-dev",
    "1.0.0.RC.15-dev",
];

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Characters version parsers treat specially, plus noise.
const ALPHABET: &[char] = &[
    '0', '1', '2', '9', '0', '1', '.', '.', '-', '-', '+', '_', '!', '~', '^', '*', '#', '@', '=', '<', ' ', '\t',
    '\n', '\0', 'a', 'b', 'c', 'v', 'x', 'X', 'r', 'e', 'p', 'l', 'd', 'g', 'o', 'A', 'R', 'C', 'S', 'P', 'é', 'İ',
    'ß', '٣', '１', '😀', '\u{202f}', '\u{feff}',
];

fn random_string(rng: &mut Rng) -> String {
    let len = rng.below(24);
    (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect()
}

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(3) {
            0 if at < chars.len() => {
                chars.remove(at);
            }
            1 if at < chars.len() => chars[at] = ALPHABET[rng.below(ALPHABET.len())],
            _ => chars.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
        }
    }
    chars.into_iter().collect()
}

fn corpus(rng: &mut Rng) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for seed in SEEDS {
        // Every truncation, cut on character boundaries.
        out.extend(seed.char_indices().map(|(i, _)| seed[..i].to_owned()));
        out.push((*seed).to_owned());
        for _ in 0..40 {
            out.push(mutate(rng, seed));
        }
    }
    for _ in 0..1500 {
        out.push(random_string(rng));
    }
    out
}

/// Maven's ComparableVersion is not transitive on some odd strings (`"" < "x1" < ".0rc1" < ""`),
/// and the scheme reproduces Maven; its transitivity is therefore not checked.
fn check_scheme(scheme: &dyn VersionScheme, inputs: &[String], transitive: bool) {
    let name = scheme.name();
    let mut valid: Vec<&str> = Vec::new();
    for v in inputs {
        let cmp = scheme.compare(v, v);
        assert_eq!(scheme.valid(v), cmp.is_ok(), "{name}: valid({v:?}) disagrees with compare");
        match cmp {
            Ok(o) => {
                // Composer cannot order two different dev- branches, but a branch equals itself.
                assert_eq!(o, Ordering::Equal, "{name}: {v:?} is not equal to itself");
                valid.push(v);
            }
            Err(e) => assert_eq!(e.scheme, name, "{name}: error names another scheme: {e}"),
        }
    }
    // Antisymmetry on all valid pairs, transitivity on sampled triples.
    let order = |a: &str, b: &str| -> Option<Ordering> {
        let ab = scheme.compare(a, b).ok();
        let ba = scheme.compare(b, a).ok();
        assert_eq!(ab, ba.map(Ordering::reverse), "{name}: compare({a:?}, {b:?}) is not antisymmetric");
        ab
    };
    let sample: Vec<&str> = valid.iter().step_by(valid.len() / 150 + 1).copied().collect();
    let mut table = vec![vec![None; sample.len()]; sample.len()];
    for (i, a) in sample.iter().enumerate() {
        for (j, b) in sample.iter().enumerate() {
            table[i][j] = order(a, b);
        }
    }
    for i in 0..sample.len() * usize::from(transitive) {
        for j in 0..sample.len() {
            for k in 0..sample.len() {
                if let (Some(ij), Some(jk), Some(ik)) = (table[i][j], table[j][k], table[i][k]) {
                    if ij != Ordering::Greater && jk != Ordering::Greater {
                        assert_ne!(
                            ik,
                            Ordering::Greater,
                            "{name}: not transitive: {:?} <= {:?} <= {:?} but first > last",
                            sample[i],
                            sample[j],
                            sample[k]
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn random_and_truncated_strings_never_panic_and_stay_ordered() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let inputs = corpus(&mut rng);
    for eco in ECOSYSTEMS {
        let scheme = scheme_for(eco).unwrap();
        check_scheme(scheme, &inputs, *eco != "Maven");
    }
}

#[test]
fn huge_inputs_finish_quickly() {
    let n = 200_000;
    let inputs = [
        "1.".repeat(n) + "1",
        "a1".repeat(n),
        "0.a.".repeat(n),
        "-".repeat(n),
        "1-".repeat(n) + "1",
        "9".repeat(n),
        "dev-".to_owned() + &"#.".repeat(n),
        "v1.2.3-".to_owned() + &"a.".repeat(n) + "a",
        "😀".repeat(n),
    ];
    for eco in ECOSYSTEMS {
        let scheme = scheme_for(eco).unwrap();
        for v in &inputs {
            let start = Instant::now();
            let _ = scheme.compare(v, v);
            let _ = scheme.compare(v, "1.0");
            if let Err(e) = scheme.compare(v, "1.0") {
                assert!(
                    e.version.len() <= bulwark_version::VersionError::MAX_SHOWN + 4,
                    "{eco}: error keeps the whole input"
                );
                assert!(e.to_string().len() < 2000, "{eco}: error message too long");
            }
            // Generous for unoptimised test builds on a loaded machine; quadratic work takes minutes.
            assert!(start.elapsed() < Duration::from_secs(20), "{eco}: {} bytes took {:?}", v.len(), start.elapsed());
        }
    }
}
