//! Rendering a pairing code as a PNG data URL (`data:image/png;base64,…`),
//! the contract's `image` field for QR responses and `session.qr` events.

use base64::Engine;
use image::Luma;
use qrcode::QrCode;

pub fn png_data_url(code: &str) -> Option<String> {
    let qr = QrCode::new(code.as_bytes()).ok()?;
    let img = qr.render::<Luma<u8>>().min_dimensions(256, 256).build();
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .ok()?;
    Some(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_a_png() {
        let url = super::png_data_url("2@abc,def,ghi,jkl").unwrap();
        assert!(url.starts_with("data:image/png;base64,iVBOR"));
    }
}
