//! The transparency-dev/merkle JSON vectors and the known answers of the
//! standards reference (§1.8, §8.1).

#[path = "merkle_reference.rs"]
mod reference;

use std::fs;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use reference::{ref_leaf, ref_node, Reference, Store};
use rootlog::merkle::{
    consistency_plan, empty_root, hash_from_slice, inclusion_plan, leaf_hash, node_hash, root_plan,
    verify_consistency, verify_inclusion, Frontier, Hash, EMPTY_ROOT,
};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/vectors/rfc6962")
}

/// Every `.json` file below `dir`, sorted for stable failure output.
fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("read {}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// A base64 field as a 32-byte hash; None (a rejection) for bad base64 or
/// any other length, exactly as a typed API must treat it.
fn hash_field(v: &Value, key: &str) -> Option<Hash> {
    let bytes = B64.decode(v[key].as_str()?).ok()?;
    hash_from_slice(&bytes)
}

/// The proof field (null means empty); None if any element is not a hash.
fn proof_field(v: &Value) -> Option<Vec<Hash>> {
    match &v["proof"] {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|item| hash_from_slice(&B64.decode(item.as_str()?).ok()?))
            .collect(),
        _ => None,
    }
}

/// How our API treats a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Rejected,
    /// A hash is not 32 bytes (or not base64), so the typed API cannot even
    /// be called: a rejection.
    BadHash,
}

fn verdict(decoded: Option<bool>) -> Verdict {
    match decoded {
        None => Verdict::BadHash,
        Some(true) => Verdict::Accepted,
        Some(false) => Verdict::Rejected,
    }
}

/// Our verdict on an inclusion vector (decoding included). Sizes that are
/// not u64 (negative) cannot be passed either: a rejection.
fn inclusion_verdict(v: &Value) -> Verdict {
    let (Some(index), Some(size)) = (v["leafIdx"].as_u64(), v["treeSize"].as_u64()) else {
        return Verdict::Rejected;
    };
    let decoded = || -> Option<bool> {
        let leaf = hash_field(v, "leafHash")?;
        let root = hash_field(v, "root")?;
        let proof = proof_field(v)?;
        Some(verify_inclusion(index, size, &leaf, &proof, &root).is_ok())
    };
    verdict(decoded())
}

/// Our verdict on a consistency vector (decoding included).
fn consistency_verdict(v: &Value) -> Verdict {
    let (Some(old), Some(new)) = (v["size1"].as_u64(), v["size2"].as_u64()) else {
        return Verdict::Rejected;
    };
    let decoded = || -> Option<bool> {
        let root1 = hash_field(v, "root1")?;
        let root2 = hash_field(v, "root2")?;
        let proof = proof_field(v)?;
        Some(verify_consistency(old, new, &root1, &root2, &proof).is_ok())
    };
    verdict(decoded())
}

/// Vectors that transparency-dev accepts although a hash is not 32 bytes:
/// its verifier compares equal-size roots bytewise without a length check.
/// Our hashes are typed `[u8; 32]`, so such input is rejected at decoding;
/// `deviation_is_only_hash_length` shows the verifier logic itself agrees.
const LENGTH_DEVIATIONS: &[&str] =
    &["consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"];

/// Checks every vector of one kind; returns (files checked, accepted ones,
/// deviations seen).
fn check_kind(kind: &str, judge: fn(&Value) -> Verdict) -> (usize, usize, usize) {
    let root = vectors_dir();
    let files = json_files(&root.join(kind));
    let (mut accepted, mut deviations) = (0, 0);
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let want_err = v["wantErr"]
            .as_bool()
            .unwrap_or_else(|| panic!("{}: no wantErr", file.display()));
        let got = judge(&v);
        let name = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if LENGTH_DEVIATIONS.contains(&name.as_str()) {
            assert!(!want_err && got == Verdict::BadHash, "{name}: {got:?}");
            deviations += 1;
            continue;
        }
        let ok = got == Verdict::Accepted;
        assert_eq!(ok, !want_err, "{name}: {:?} got {got:?}", v["desc"]);
        accepted += usize::from(ok);
    }
    (files.len(), accepted, deviations)
}

#[test]
fn rfc6962_json_vectors() {
    let (inclusion, inc_ok, inc_dev) = check_kind("inclusion", inclusion_verdict);
    let (consistency, con_ok, con_dev) = check_kind("consistency", consistency_verdict);
    assert!(inclusion > 50, "only {inclusion} inclusion vectors found");
    assert!(
        consistency > 50,
        "only {consistency} consistency vectors found"
    );
    assert!(
        inclusion + consistency > 150,
        "only {} vectors found",
        inclusion + consistency
    );
    assert_eq!(inc_dev + con_dev, LENGTH_DEVIATIONS.len());
    // Both outcomes must be exercised, or the test proves little.
    assert!(inc_ok > 0 && inc_ok < inclusion);
    assert!(con_ok > 0 && con_ok < consistency);
}

/// The one deviating vector, with its 12-byte roots replaced by a real hash
/// (still equal to each other), is accepted: only the length check differs.
#[test]
fn deviation_is_only_hash_length() {
    let path = vectors_dir().join(LENGTH_DEVIATIONS[0]);
    let v: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(consistency_verdict(&v), Verdict::BadHash);
    let raw = B64.decode(v["root1"].as_str().unwrap()).unwrap();
    assert_eq!(raw, B64.decode(v["root2"].as_str().unwrap()).unwrap());
    let padded = leaf_hash(&raw);
    let (old, new) = (v["size1"].as_u64().unwrap(), v["size2"].as_u64().unwrap());
    let proof = proof_field(&v).unwrap();
    assert_eq!(
        verify_consistency(old, new, &padded, &padded, &proof),
        Ok(())
    );
}

fn hex32(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}

fn b64_32(s: &str) -> Hash {
    hash_from_slice(&B64.decode(s).unwrap()).unwrap()
}

#[test]
fn hasher_known_answers() {
    assert_eq!(
        leaf_hash(b""),
        hex32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    assert_eq!(
        leaf_hash(b"L123456"),
        hex32("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
    assert_eq!(
        leaf_hash(b"hello world"),
        b64_32("TszzRgjTG6xce+z2AG31kAXYKBgQVtCSCE40HmuwBb0=")
    );
    let empty = hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(EMPTY_ROOT, empty);
    assert_eq!(empty_root(), empty);
    assert_eq!(
        b64_32("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
        empty
    );
    assert_eq!(Frontier::new().root(), empty);
}

/// `node("N123", "N456")` has 4-byte children, which the typed `node_hash`
/// cannot take: check the known answer on the byte-level construction and
/// that `node_hash` is that construction.
#[test]
fn node_hash_known_answer() {
    assert_eq!(
        ref_node(b"N123", b"N456"),
        hex32("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
    );
    let (a, b) = (leaf_hash(b"N123"), leaf_hash(b"N456"));
    assert_eq!(node_hash(&a, &b), ref_node(&a, &b));
    assert_ne!(node_hash(&a, &b), node_hash(&b, &a));
}

/// The eight transparency-dev test leaf inputs (`testonly/constants.go`), hex.
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

fn test_leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).unwrap()))
        .collect()
}

/// `RootHashes()` of transparency-dev `testonly/constants.go`, sizes 1–8
/// (size 0 is the empty root).
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn roots_of_test_leaves() {
    let leaves = test_leaves();
    // The reference's independent leaf hashing agrees with the library's.
    for (leaf, input) in leaves.iter().zip(LEAF_INPUTS) {
        assert_eq!(*leaf, ref_leaf(&hex::decode(input).unwrap()));
    }
    let reference = Reference::new(leaves.clone());
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), EMPTY_ROOT);
    assert_eq!(reference.mth(0), EMPTY_ROOT);
    for (i, want) in ROOTS.iter().enumerate() {
        frontier.append(leaves[i], |_, _| {});
        let size = i + 1;
        assert_eq!(frontier.root(), hex32(want), "frontier root, size {size}");
        assert_eq!(
            reference.mth(size),
            hex32(want),
            "reference root, size {size}"
        );
    }
    let store = Store::with_leaves(&leaves);
    for size in 0..=8u64 {
        assert_eq!(store.root(size), reference.mth(size as usize));
        assert_eq!(root_plan(size).len(), size.count_ones() as usize);
    }
}

/// Checks a full hash against an abbreviated `prefix…suffix` from the reference text.
fn abbreviated(h: &Hash, prefix: &str, suffix: &str) -> bool {
    let full = hex::encode(h);
    full.starts_with(prefix) && full.ends_with(suffix)
}

/// The RFC 6962 §2.1.3 example tree of seven leaves, with its node names.
#[test]
fn rfc_example_d7() {
    let leaves = test_leaves();
    let r = Reference::new(leaves.clone());
    let store = Store::with_leaves(&leaves);
    // Node names of the RFC figure, by leaf range.
    let c = r.mth_range(2, 3);
    let d = r.mth_range(3, 4);
    let g = r.mth_range(0, 2);
    let i = r.mth_range(4, 6);
    let j = r.mth_range(6, 7);
    let k = r.mth_range(0, 4);
    let l = r.mth_range(4, 7);
    assert!(abbreviated(&c, "0298d122", "7fe7"));
    assert!(abbreviated(&d, "07506a85", "87e7"));
    assert!(abbreviated(&g, "fac54203", "c125"));
    assert!(abbreviated(&i, "0ebc5d34", "ef6a"));
    assert!(abbreviated(&j, "b08693ec", "1a5f"));
    assert!(abbreviated(&k, "d37ee418", "14b7"));
    assert_eq!(
        l,
        hex32("837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e")
    );

    assert_eq!(r.path(3, 7), vec![c, g, l]);
    assert_eq!(store.inclusion(3, 7), vec![c, g, l]);
    assert_eq!(r.proof(3, 7), vec![c, d, g, l]);
    assert_eq!(store.consistency(3, 7), vec![c, d, g, l]);
    assert_eq!(r.proof(4, 7), vec![l]);
    assert_eq!(store.consistency(4, 7), vec![l]);
    assert_eq!(r.proof(6, 7), vec![i, j, k]);
    assert_eq!(store.consistency(6, 7), vec![i, j, k]);

    let root7 = r.mth(7);
    assert_eq!(
        verify_inclusion(3, 7, &leaves[3], &[c, g, l], &root7),
        Ok(())
    );
    for (old, proof) in [(3, vec![c, d, g, l]), (4, vec![l]), (6, vec![i, j, k])] {
        assert_eq!(
            verify_consistency(old, 7, &r.mth(old as usize), &root7, &proof),
            Ok(())
        );
    }
}

#[test]
fn size_8_known_proofs() {
    let leaves = test_leaves();
    let store = Store::with_leaves(&leaves);
    let want: Vec<Hash> = [
        "lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
        "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
        "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ=",
    ]
    .iter()
    .map(|s| b64_32(s))
    .collect();
    let root = b64_32("XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=");
    assert_eq!(store.root(8), root);
    assert_eq!(store.inclusion(0, 8), want);
    assert_eq!(store.consistency(1, 8), want);
    assert_eq!(inclusion_plan(0, 8).unwrap().nodes.len(), 3);
    assert_eq!(consistency_plan(1, 8).unwrap().nodes.len(), 3);
    assert_eq!(verify_inclusion(0, 8, &leaves[0], &want, &root), Ok(()));
    assert_eq!(verify_consistency(1, 8, &leaves[0], &root, &want), Ok(()));
}
