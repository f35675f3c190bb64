//! The CSV export of a form's responses: a header line, then one line per
//! response, oldest first, streamed page by page from the repository so
//! memory stays flat however many responses there are (see
//! [`crate::csv`] for how each cell is made safe for spreadsheets).
//!
//! The columns are `response_id`, `created_at`, then one per field in form
//! order, headed by its label. A database error mid-stream is logged here
//! and ends the body with an error (the client sees a cut download, never
//! a partial file passed off as whole).

use std::io;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use keel::db::Db;

use crate::csv::{self, plain};
use crate::domain::Field;
use crate::repo::forms::StoredForm;
use crate::repo::responses::{self, StoredResponse};

/// Rows fetched per round trip.
const PAGE_SIZE: i64 = 500;

/// The export of `form` as a stream of CSV bytes.
pub(crate) fn responses_csv(
    db: Db,
    form: &StoredForm,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send + 'static {
    let fields = form.definition.fields.clone();
    let head = Bytes::from(header_line(&fields));
    let body = responses::stream_pages(db, form.id, PAGE_SIZE).map(move |page| match page {
        Ok(page) => Ok(rows(&fields, &page)),
        Err(err) => {
            tracing::error!(error = %err, "CSV export failed mid-stream");
            Err(io::Error::other("export failed"))
        }
    });
    // Fused: a reader may poll again after the end (the compression layer
    // does), which an unfused `unfold` answers with a panic.
    stream::iter([Ok(head)]).chain(body).fuse()
}

/// The file name the export is offered under.
pub(crate) fn file_name(form: &StoredForm) -> String {
    format!("responses-{}.csv", form.slug)
}

fn header_line(fields: &[Field]) -> Vec<u8> {
    let mut cells = vec!["response_id".to_owned(), "created_at".to_owned()];
    cells.extend(fields.iter().map(|f| f.label.clone()));
    csv::line(cells)
}

fn rows(fields: &[Field], page: &[StoredResponse]) -> Bytes {
    let mut out = Vec::new();
    for r in page {
        let mut cells = vec![r.id.to_string(), r.created_at.to_rfc3339()];
        cells.extend(
            fields
                .iter()
                .map(|f| r.answers.get(&f.key).map(plain).unwrap_or_default()),
        );
        out.extend(csv::line(cells));
    }
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields() -> Vec<Field> {
        serde_json::from_value(json!([
            {"key": "name", "label": "=Name", "type": "short_text", "required": false, "help": ""},
            {"key": "tags", "label": "Tags", "type": "choices", "required": false, "help": "", "options": ["a", "b"]}
        ]))
        .unwrap()
    }

    #[test]
    fn the_header_names_the_fields_by_label_in_form_order() {
        let head = String::from_utf8(header_line(&fields())).unwrap();
        assert_eq!(head, "\"response_id\",\"created_at\",\"'=Name\",\"Tags\"\r\n");
    }

    #[test]
    fn a_row_holds_each_answer_as_plain_text_and_blanks_for_the_unanswered() {
        let response = StoredResponse {
            seq: 1,
            id: uuid::Uuid::nil(),
            answers: json!({"tags": ["a", "b"]}).as_object().cloned().unwrap(),
            created_at: chrono::DateTime::UNIX_EPOCH,
        };
        let line = rows(&fields(), &[response]);
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "\"00000000-0000-0000-0000-000000000000\",\"1970-01-01T00:00:00+00:00\",\"\",\"a; b\"\r\n"
        );
    }
}
