//! The chain verifies the way a client pinning the sandbox root checks it
//! (wacore-noise's `verify_server_cert`, step by step), and fails when
//! anything is swapped.

use buffa::Message as _;
use waproto::whatsapp as wa;

use super::*;

struct Decoded {
    intermediate: (Vec<u8>, Vec<u8>, noise_certificate::Details),
    leaf: (Vec<u8>, Vec<u8>, noise_certificate::Details),
}

fn decode(chain: &[u8]) -> Decoded {
    let chain = wa::CertChain::decode_from_slice(chain).expect("a CertChain");
    let part = |cert: &wa::cert_chain::NoiseCertificate| {
        let details = cert.details.clone().expect("details");
        let signature = cert.signature.clone().expect("signature");
        let parsed = waproto::codec::noise_certificate_details_decode(&details).expect("details");
        (details, signature, parsed)
    };
    Decoded {
        intermediate: part(chain.intermediate.as_option().expect("intermediate")),
        leaf: part(chain.leaf.as_option().expect("leaf")),
    }
}

#[test]
fn the_chain_verifies_against_the_sandbox_root() {
    let server_static = [7u8; 32];
    let chain = decode(&chain_for(&server_static));

    let (details, signature, intermediate) = chain.intermediate;
    assert_eq!(intermediate.issuer_serial, Some(0), "issued by the root");
    assert!(signed_by(&root_public_key(), &details, &signature));
    let intermediate_key: [u8; 32] = intermediate.key.clone().unwrap().try_into().unwrap();

    let (details, signature, leaf) = chain.leaf;
    assert_eq!(
        leaf.issuer_serial, intermediate.serial,
        "issued by the intermediate"
    );
    assert_eq!(
        leaf.key.as_deref(),
        Some(&server_static[..]),
        "names the static key"
    );
    assert!(signed_by(&intermediate_key, &details, &signature));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for d in [&intermediate, &leaf] {
        assert!(d.not_before.unwrap() <= now && now < d.not_after.unwrap());
    }
}

#[test]
fn whatsapps_root_does_not_verify_it_and_a_swapped_leaf_fails() {
    let chain = decode(&chain_for(&[7u8; 32]));
    let (details, signature, intermediate) = chain.intermediate;
    assert!(!signed_by(
        &wacore_noise::WA_CERT_PUB_KEY,
        &details,
        &signature
    ));

    let intermediate_key: [u8; 32] = intermediate.key.unwrap().try_into().unwrap();
    let other = decode(&chain_for(&[8u8; 32]));
    let (_, their_signature, _) = other.leaf;
    let (leaf_details, _, _) = chain.leaf;
    assert!(!signed_by(
        &intermediate_key,
        &leaf_details,
        &their_signature
    ));
}

#[test]
fn the_root_key_is_fixed() {
    assert_eq!(root_public_key(), root_public_key());
    assert_ne!(root_public_key(), wacore_noise::WA_CERT_PUB_KEY);
}
