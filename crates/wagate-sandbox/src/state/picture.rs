//! Profile pictures of phones and groups, persisted with their bytes as hex;
//! served over HTTP by `iq::picture`.

use serde::{Deserialize, Serialize};

/// A profile picture: the bytes as set (JPEG), served at
/// `/pp/{owner}/{id}.jpg` on the sandbox's HTTP listener.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Picture {
    /// A phone number or a group id.
    pub owner: String,
    /// Changes with every new picture (unix milliseconds, strictly rising).
    pub id: String,
    #[serde(with = "hex_bytes")]
    pub data: bytes::Bytes,
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        let h = String::deserialize(d)?;
        hex::decode(h)
            .map(bytes::Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}
