#![cfg(test)]
//! Unit tests of the parent module.

use super::*;

#[test]
fn the_cap_holds_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("x")).unwrap();
    let mut w = CappedFile {
        out: BufWriter::new(file),
        written: 0,
        cap: 10,
    };
    w.write_all(&[1; 8]).unwrap();
    let e = w.write_all(&[1; 8]).unwrap_err();
    assert!(e.to_string().contains(OVER_CAP));
    w.truncate(0).unwrap();
    w.write_all(&[2; 10]).unwrap();
    assert_eq!(w.written, 10);
}

#[test]
fn a_reference_without_a_direct_path_is_not_downloaded() {
    let source = Source {
        kind: MediaKind::Image,
        direct_path: Some("https://evil.example/x".into()),
        media_key: None,
        file_sha256: Some(B64.encode([0u8; 32])),
        file_enc_sha256: None,
        file_length: Some(1),
        mimetype: None,
        filename: None,
    };
    assert!(source.params().is_none());
}
