use super::*;

#[test]
fn content_decides_the_type() {
    let cases: &[(&[u8], Option<&str>, &str)] = &[
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some("image/png"), "a PNG"),
        (b"\xff\xd8\xff\xe0\0\x10JFIF", Some("image/jpeg"), "a JPEG"),
        (b"GIF89a\x01\0", Some("image/gif"), "a GIF"),
        (b"RIFF\x24\0\0\0WEBPVP8 ", Some("image/webp"), "a WebP"),
        (b"%PDF-1.7\n", Some("application/pdf"), "a PDF"),
        (
            b"PK\x03\x04\x14\0\0\0\0\0word/document.xml",
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
            "a docx",
        ),
        (b"PK\x03\x04\x14\0\0\0\0\0other.txt", Some("application/zip"), "a zip"),
        (b"  <!DOCTYPE html><html>", Some("text/html"), "HTML after spaces"),
        (
            b"\xef\xbb\xbf<script>alert(1)</script>",
            Some("text/html"),
            "a script after a BOM",
        ),
        (
            b"<?xml version=\"1.0\"?><svg xmlns=",
            Some("image/svg+xml"),
            "SVG with a prolog",
        ),
        (b"<svg onload=alert(1)>", Some("image/svg+xml"), "bare SVG"),
        (b"<?xml version=\"1.0\"?><note/>", Some("application/xml"), "XML"),
        (
            b"Hello\n<script>alert(1)</script>",
            Some("text/html"),
            "a script after text",
        ),
        (b"notes <SCRIPT src=x>", Some("text/html"), "a script in capitals"),
        (
            b"\xef\xbb\xbf  hi <iframe src=//x>",
            Some("text/html"),
            "an iframe after a BOM and text",
        ),
        (b"text <svg onload=alert(1)>", Some("image/svg+xml"), "SVG after text"),
        (b"text <svg/onload=alert(1)>", Some("image/svg+xml"), "SVG with a slash"),
        (
            b"text <?xml version=\"1.0\"?><html>",
            Some("application/xhtml+xml"),
            "XHTML after text",
        ),
        (
            b"text <?xml version=\"1.0\"?><n/>",
            Some("application/xml"),
            "XML after text",
        ),
        (b"text <!DOCTYPE html>", Some("text/html"), "a doctype after text"),
        (b"see <a href=x>", Some("text/html"), "a link"),
        (b"see <a\thref=x>", Some("text/html"), "a link after a tab"),
        (b"x <img src=x>", Some("text/html"), "an image"),
        (b"x <meta http-equiv=refresh>", Some("text/html"), "a meta refresh"),
        (b"x <object data=x>", Some("text/html"), "an object"),
        (b"x <embed src=x>", Some("text/html"), "an embed"),
        (b"x <link rel=stylesheet>", Some("text/html"), "a link element"),
        (b"x <style>", Some("text/html"), "a style element"),
        (b"x <body>", Some("text/html"), "a body"),
        (
            b"x <details open ontoggle=alert(1)>",
            Some("text/html"),
            "a handler on an unlisted tag",
        ),
        (
            b"x <x/onclick =alert(1)>",
            Some("text/html"),
            "a handler after a slash and before a space",
        ),
        (
            b"x <b title='a'onmouseover=alert(1)>",
            Some("text/html"),
            "a handler right after a quote",
        ),
        (b"caf\xe9 <script>", Some("text/html"), "markup in Latin-1, not UTF-8"),
        (b"a < b and c > d", Some("text/plain"), "comparisons"),
        (
            b"x <abbr> <imgur> <android>",
            Some("text/plain"),
            "tags that only start like active ones",
        ),
        (
            b"if a < b then onload=1",
            Some("text/plain"),
            "a handler-like word outside a tag",
        ),
        (
            b"if a<b then onload=1",
            Some("text/html"),
            "a tag that a browser would open, handler and all",
        ),
        (
            b"<b>bold</b> <i>one=1</i>",
            Some("text/plain"),
            "inert tags without handlers",
        ),
        (b"x <b on=1 onx y=2>", Some("text/plain"), "no handler name, or no ="),
        (b"name,age\nAda,36\n", Some("text/plain"), "CSV is text"),
        ("caf\u{e9} \u{2603}".as_bytes(), Some("text/plain"), "UTF-8 text"),
        (
            &"\u{2603}".as_bytes()[..2],
            Some("text/plain"),
            "a character cut at the end",
        ),
        (
            b"MZ\x90\0\x03\0\0\0",
            Some("application/vnd.microsoft.portable-executable"),
            "an executable",
        ),
        (
            b"MZ is where we met",
            Some("text/plain"),
            "text that starts like an executable",
        ),
        (b"ID3 tags, a note", Some("text/plain"), "text that starts like an MP3"),
        (b"ID3\x04\0\0\0\0\0\x23TSSE", Some("audio/mpeg"), "an MP3 with ID3 tags"),
        (b"\xff\xfb\x90\x64\0\0\0\0", Some("audio/mpeg"), "an MP3 frame"),
        (b"RIFF\x24\x08\0\0WAVEfmt ", Some("audio/x-wav"), "a WAV"),
        (b"OggS\0\x02\0\0\0\0\0\0\0\0", Some("audio/ogg"), "an Ogg"),
        (
            b"\0\0\0\x14ftypqt  \0\0\0\0qt  ",
            Some("video/quicktime"),
            "a QuickTime movie",
        ),
        (b"\0\0\0\x1cftypM4V \0\0\0\x01M4V isom", Some("video/x-m4v"), "an M4V"),
        (
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm",
            Some("video/webm"),
            "a WebM",
        ),
        (b"text\0with a NUL", None, "binary with a NUL"),
        (b"", None, "nothing"),
    ];
    for (head, expected, why) in cases {
        assert_eq!(sniff(head), *expected, "{why}");
    }
}

#[test]
fn markup_is_active_and_images_are_not() {
    assert!(is_active("text/html"));
    assert!(is_active("image/svg+xml"));
    assert!(!is_active("image/png"));
    assert!(!is_active("text/plain"));
}
