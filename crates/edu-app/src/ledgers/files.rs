//! Uploaded files: size cap, type by magic bytes (JPEG, PNG, PDF), server-generated names, location data removed
//! from photos (JPEG EXIF GPS and XMP; PNG eXIf), image dimensions for site plans.

use sha2::{Digest, Sha256};

/// Largest attachment or site plan, bytes (10 MiB).
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// A file as received from a form or the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The form field it belongs to (a file field of the ledger, `photo_<item>` for checklist photos).
    pub field: String,
    pub bytes: Vec<u8>,
}

/// What a file is, decided by its first bytes (never by its name or the browser's claim).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Jpeg,
    Png,
    Pdf,
}

impl FileKind {
    pub fn content_type(self) -> &'static str {
        match self {
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Pdf => "pdf",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(self, FileKind::Jpeg | FileKind::Png)
    }
}

/// Why a file was refused (bilingual, for the field error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRefusal {
    pub zh: String,
    pub en: String,
}

impl FileRefusal {
    pub fn message(&self) -> String {
        format!("{} / {}", self.zh, self.en)
    }
}

/// The type by magic bytes, or a refusal.
pub fn sniff(bytes: &[u8]) -> Result<FileKind, FileRefusal> {
    if bytes.is_empty() {
        return Err(FileRefusal {
            zh: "文件为空".into(),
            en: "the file is empty".into(),
        });
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(FileRefusal {
            zh: format!(
                "文件过大（{:.1} MB），上限 10 MB",
                bytes.len() as f64 / 1_048_576.0
            ),
            en: format!(
                "file too large ({:.1} MB); the limit is 10 MB",
                bytes.len() as f64 / 1_048_576.0
            ),
        });
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(FileKind::Jpeg);
    }
    if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        return Ok(FileKind::Png);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(FileKind::Pdf);
    }
    Err(FileRefusal {
        zh: "只接受 JPEG、PNG 图片或 PDF 文件".into(),
        en: "only JPEG or PNG images and PDF files are accepted".into(),
    })
}

/// SHA-256, base64url (not hex: long digit runs in the database look like phone numbers to the DATA-01 grep).
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::crypto::encode_digest(&Sha256::digest(bytes))
}

/// Removes location data: for JPEG the XMP segments and the GPS directory of the EXIF segment (its entries and
/// values are zeroed, the orientation and other tags kept); for PNG the `eXIf` chunks. Other files unchanged.
pub fn strip_location(kind: FileKind, bytes: &[u8]) -> Vec<u8> {
    match kind {
        FileKind::Jpeg => strip_jpeg(bytes),
        FileKind::Png => strip_png(bytes),
        FileKind::Pdf => bytes.to_vec(),
    }
}

fn strip_jpeg(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 4 {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut i = 2;
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            // Not a marker where one should be: keep the rest unchanged rather than guess.
            break;
        }
        let marker = bytes[i + 1];
        if marker == 0xD9 || marker == 0xDA {
            // End of image, or start of scan: the entropy-coded data follows; copy everything from here.
            break;
        }
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 || marker == 0xFF {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let end = i + 2 + length;
        if length < 2 || end > bytes.len() {
            break;
        }
        let payload = &bytes[i + 4..end];
        if marker == 0xE1 && payload.starts_with(b"Exif\0\0") {
            let mut segment = bytes[i..end].to_vec();
            remove_gps(&mut segment[10..]);
            out.extend_from_slice(&segment);
        } else if marker == 0xE1 {
            // XMP and other APP1 payloads may carry location: dropped.
        } else {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    out.extend_from_slice(&bytes[i.min(bytes.len())..]);
    out
}

/// Zeroes the GPS IFD of a TIFF structure (the EXIF payload after `Exif\0\0`) and the values it points to.
fn remove_gps(tiff: &mut [u8]) {
    let little = match tiff.get(..2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return,
    };
    let u16_at = |t: &[u8], at: usize| -> Option<u16> {
        let b = t.get(at..at + 2)?;
        Some(if little {
            u16::from_le_bytes([b[0], b[1]])
        } else {
            u16::from_be_bytes([b[0], b[1]])
        })
    };
    let u32_at = |t: &[u8], at: usize| -> Option<u32> {
        let b = t.get(at..at + 4)?;
        Some(if little {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        })
    };
    let Some(ifd0) = u32_at(tiff, 4).map(|v| v as usize) else {
        return;
    };
    let Some(count) = u16_at(tiff, ifd0) else {
        return;
    };
    let mut gps = None;
    for k in 0..usize::from(count) {
        let entry = ifd0 + 2 + 12 * k;
        if u16_at(tiff, entry) == Some(0x8825) {
            // The tag stays and points at the GPS directory, which is emptied below (count 0, values zeroed).
            gps = u32_at(tiff, entry + 8).map(|v| v as usize);
        }
    }
    let Some(gps) = gps else { return };
    let Some(n) = u16_at(tiff, gps) else { return };
    let type_size = |t: u16| -> usize {
        match t {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 => 4,
            5 | 10 | 12 => 8,
            _ => 0,
        }
    };
    for k in 0..usize::from(n) {
        let entry = gps + 2 + 12 * k;
        let (Some(kind), Some(items)) = (u16_at(tiff, entry + 2), u32_at(tiff, entry + 4)) else {
            break;
        };
        let size = type_size(kind).saturating_mul(items as usize);
        if size > 4
            && let Some(offset) = u32_at(tiff, entry + 8).map(|v| v as usize)
            && let Some(data) = tiff.get_mut(offset..offset.saturating_add(size))
        {
            data.fill(0);
        }
        if let Some(e) = tiff.get_mut(entry..entry + 12) {
            e.fill(0);
        }
    }
    if let Some(c) = tiff.get_mut(gps..gps + 2) {
        c.fill(0);
    }
}

fn strip_png(bytes: &[u8]) -> Vec<u8> {
    if bytes.len() < 8 {
        return bytes.to_vec();
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..8]);
    let mut i = 8;
    while i + 12 <= bytes.len() {
        let length =
            u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize;
        let end = i.saturating_add(12).saturating_add(length);
        if end > bytes.len() {
            break;
        }
        if &bytes[i + 4..i + 8] != b"eXIf" {
            out.extend_from_slice(&bytes[i..end]);
        }
        i = end;
    }
    out.extend_from_slice(&bytes[i.min(bytes.len())..]);
    out
}

/// Width and height of a PNG or JPEG image.
pub fn image_size(kind: FileKind, bytes: &[u8]) -> Option<(u32, u32)> {
    match kind {
        FileKind::Png => {
            let b = bytes.get(16..24)?;
            let w = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            let h = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
            (w > 0 && h > 0).then_some((w, h))
        }
        FileKind::Jpeg => {
            let mut i = 2;
            while i + 9 < bytes.len() {
                if bytes[i] != 0xFF {
                    return None;
                }
                let marker = bytes[i + 1];
                if marker == 0xFF {
                    i += 1;
                    continue;
                }
                let length = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
                // SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC).
                if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
                    let h = u32::from(u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]));
                    let w = u32::from(u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]));
                    return (w > 0 && h > 0).then_some((w, h));
                }
                if marker == 0xDA || length < 2 {
                    return None;
                }
                i += 2 + length;
            }
            None
        }
        FileKind::Pdf => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG skeleton: SOI, an EXIF APP1 with a GPS directory, an XMP APP1, SOF0 (640×480), SOS, data, EOI.
    fn jpeg_with_gps() -> Vec<u8> {
        // TIFF, little endian: IFD0 at 8 with 2 entries: Orientation (0x0112) = 6, GPSInfo (0x8825) → 38.
        let mut tiff: Vec<u8> = b"II*\0".to_vec();
        tiff.extend_from_slice(&8u32.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&0x0112u16.to_le_bytes());
        tiff.extend_from_slice(&3u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&6u32.to_le_bytes());
        tiff.extend_from_slice(&0x8825u16.to_le_bytes());
        tiff.extend_from_slice(&4u16.to_le_bytes());
        tiff.extend_from_slice(&1u32.to_le_bytes());
        tiff.extend_from_slice(&38u32.to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes()); // next IFD
        assert_eq!(tiff.len(), 38);
        // GPS IFD at 38: 1 entry, GPSLatitude (2), RATIONAL ×3 → data at 56 (24 bytes).
        tiff.extend_from_slice(&1u16.to_le_bytes());
        tiff.extend_from_slice(&2u16.to_le_bytes());
        tiff.extend_from_slice(&5u16.to_le_bytes());
        tiff.extend_from_slice(&3u32.to_le_bytes());
        tiff.extend_from_slice(&56u32.to_le_bytes());
        tiff.extend_from_slice(&0u32.to_le_bytes());
        assert_eq!(tiff.len(), 56);
        for v in [46u32, 1, 35, 1, 4242, 100] {
            tiff.extend_from_slice(&v.to_le_bytes());
        }
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&app1);
        let xmp = b"http://ns.adobe.com/xap/1.0/\0<x:gps>46.5N</x:gps>";
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((xmp.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(xmp);
        out.extend_from_slice(&[0xFF, 0xC0, 0, 11, 8, 0x01, 0xE0, 0x02, 0x80, 1, 1, 0x11, 0]);
        out.extend_from_slice(&[0xFF, 0xDA, 0, 2, 0x12, 0x34, 0x56, 0xFF, 0xD9]);
        out
    }

    #[test]
    fn types_are_decided_by_magic_bytes() {
        assert_eq!(sniff(&jpeg_with_gps()), Ok(FileKind::Jpeg));
        assert_eq!(sniff(b"%PDF-1.7\n..."), Ok(FileKind::Pdf));
        assert_eq!(
            sniff(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]),
            Ok(FileKind::Png)
        );
        assert!(sniff(b"MZ\x90\0 an exe renamed photo.jpg").is_err());
        assert!(sniff(b"<svg onload=alert(1)>").is_err());
        assert!(sniff(b"").is_err());
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_FILE_BYTES + 1, 0);
        let refusal = sniff(&big).unwrap_err();
        assert!(refusal.en.contains("too large"), "{}", refusal.en);
    }

    #[test]
    fn gps_and_xmp_are_removed_orientation_and_image_kept() {
        let original = jpeg_with_gps();
        let stripped = strip_location(FileKind::Jpeg, &original);
        // The latitude value 4242 and the XMP text are gone.
        let latitude = 4242u32.to_le_bytes();
        assert!(original.windows(4).any(|w| w == latitude));
        assert!(!stripped.windows(4).any(|w| w == latitude));
        assert!(!stripped.windows(5).any(|w| w == b"x:gps"));
        // Orientation 6 survives; the image header and data are unchanged.
        let orientation: Vec<u8> = [0x12u8, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0].to_vec();
        assert!(stripped.windows(12).any(|w| w == orientation.as_slice()));
        assert!(stripped.ends_with(&[0xFF, 0xDA, 0, 2, 0x12, 0x34, 0x56, 0xFF, 0xD9]));
        assert_eq!(image_size(FileKind::Jpeg, &stripped), Some((640, 480)));
        assert_eq!(sniff(&stripped), Ok(FileKind::Jpeg));
    }

    #[test]
    fn png_exif_chunks_are_dropped_and_size_read() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = (data.len() as u32).to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut png = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
        let mut ihdr = 800u32.to_be_bytes().to_vec();
        ihdr.extend_from_slice(&600u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(b"eXIf", b"MM\0*gps-here"));
        png.extend(chunk(b"IEND", b""));
        let stripped = strip_location(FileKind::Png, &png);
        assert!(!stripped.windows(8).any(|w| w == b"gps-here"));
        assert!(stripped.windows(4).any(|w| w == b"IEND"));
        assert_eq!(image_size(FileKind::Png, &stripped), Some((800, 600)));
    }
}
