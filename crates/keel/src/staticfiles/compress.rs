//! The precompressed siblings: gzip at level 9 and brotli at quality 11,
//! both the slowest and smallest settings, because the work is done once at
//! `collectstatic` and the bytes are saved on every request after. A variant
//! is kept only when it is smaller than the original.

use std::io::Write;

use super::media;

/// The compressed forms of one file worth keeping.
#[derive(Debug, Default)]
pub(crate) struct Variants {
    pub(crate) gzip: Option<Vec<u8>>,
    pub(crate) br: Option<Vec<u8>>,
}

impl Variants {
    /// How many variants there are.
    pub(crate) fn count(&self) -> usize {
        usize::from(self.gzip.is_some()) + usize::from(self.br.is_some())
    }
}

/// The `.gz` and `.br` bodies of `data`, where its type is compressible and
/// the result is smaller.
pub(crate) fn variants(content_type: &str, data: &[u8]) -> Variants {
    if !media::compressible(content_type) {
        return Variants::default();
    }
    let smaller = |packed: Option<Vec<u8>>| packed.filter(|p| p.len() < data.len());
    Variants {
        gzip: smaller(gzip(data)),
        br: smaller(brotli(data)),
    }
}

/// Gzip with a zero timestamp, so the same input gives the same bytes.
fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).ok()?;
    encoder.finish().ok()
}

fn brotli(data: &[u8]) -> Option<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn text_gets_both_variants_and_they_decompress_to_the_original() {
        let css = "body { color: red; }\n".repeat(50);
        let v = variants("text/css; charset=utf-8", css.as_bytes());
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(v.gzip.as_deref().unwrap())
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, css);
        let mut unbrotli = Vec::new();
        brotli::BrotliDecompress(&mut v.br.as_deref().unwrap(), &mut unbrotli).unwrap();
        assert_eq!(unbrotli, css.as_bytes());
    }

    #[test]
    fn tiny_files_and_images_get_none() {
        assert_eq!(variants("text/javascript", b"x=1").count(), 0, "larger when packed");
        let png = vec![0_u8; 4096];
        assert_eq!(variants("image/png", &png).count(), 0, "not a compressible type");
    }

    #[test]
    fn gzip_output_is_deterministic() {
        assert_eq!(gzip(b"same input, same bytes"), gzip(b"same input, same bytes"));
    }
}
