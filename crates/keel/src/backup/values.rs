//! One portable form for a column value, whichever backend it came from,
//! and back into a column of either backend.
//!
//! The portable form is JSON: `null`, a number, a boolean, a string, or
//! `{"bytes": "<base64>"}`. A PostgreSQL `UUID` is written as its 16 bytes
//! (SQLite keeps them as a `BLOB`); a `TIMESTAMPTZ` as the text SQLite's
//! driver writes (`2026-12-02T16:40:33.526123+00:00`); a SQLite `BOOLEAN`
//! as a boolean. So a table dumped from either backend reads the same, and
//! is loaded by the target column's own type.

use base64::Engine as _;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, TypeInfo, ValueRef};

/// The key of a bytes value.
const BYTES: &str = "bytes";

/// A value that cannot be carried over.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: {why}")]
pub struct ValueError {
    pub column: String,
    pub why: String,
}

fn error(column: &str, why: impl Into<String>) -> ValueError {
    ValueError {
        column: column.to_owned(),
        why: why.into(),
    }
}

/// A timestamp as SQLite's driver writes it.
pub fn timestamp_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn bytes_value(bytes: &[u8]) -> Value {
    json!({ BYTES: base64::engine::general_purpose::STANDARD.encode(bytes) })
}

fn as_bytes(value: &Value) -> Option<Vec<u8>> {
    let text = value.as_object()?.get(BYTES)?.as_str()?;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Column `i` of a PostgreSQL row, portable.
pub fn from_postgres(row: &PgRow, i: usize) -> Result<Value, ValueError> {
    let column = row.column(i);
    let name = column.name();
    let raw = row.try_get_raw(i).map_err(|e| error(name, e.to_string()))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = column.type_info().name().to_owned();
    let get_err = |e: sqlx::Error| error(name, e.to_string());
    Ok(match kind.as_str() {
        "UUID" => bytes_value(row.try_get::<uuid::Uuid, _>(i).map_err(get_err)?.as_bytes()),
        "BYTEA" => bytes_value(&row.try_get::<Vec<u8>, _>(i).map_err(get_err)?),
        "TIMESTAMPTZ" => Value::String(timestamp_text(row.try_get::<DateTime<Utc>, _>(i).map_err(get_err)?)),
        "INT2" => json!(row.try_get::<i16, _>(i).map_err(get_err)?),
        "INT4" => json!(row.try_get::<i32, _>(i).map_err(get_err)?),
        "INT8" => json!(row.try_get::<i64, _>(i).map_err(get_err)?),
        "FLOAT4" => json!(row.try_get::<f32, _>(i).map_err(get_err)?),
        "FLOAT8" => json!(row.try_get::<f64, _>(i).map_err(get_err)?),
        "BOOL" => json!(row.try_get::<bool, _>(i).map_err(get_err)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" => json!(row.try_get::<String, _>(i).map_err(get_err)?),
        other => {
            return Err(error(
                name,
                format!("PostgreSQL type {other} is not carried by backups"),
            ))
        }
    })
}

/// Column `i` of a SQLite row, portable; `declared` is the column's
/// declared type (SQLite stores a `BOOLEAN` as an integer).
pub fn from_sqlite(row: &SqliteRow, i: usize, declared: &str) -> Result<Value, ValueError> {
    let name = row.column(i).name();
    let raw = row.try_get_raw(i).map_err(|e| error(name, e.to_string()))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let storage = raw.type_info().name().to_owned();
    let get_err = |e: sqlx::Error| error(name, e.to_string());
    Ok(match storage.as_str() {
        "INTEGER" if declared.eq_ignore_ascii_case("BOOLEAN") => json!(row.try_get::<i64, _>(i).map_err(get_err)? != 0),
        "INTEGER" => json!(row.try_get::<i64, _>(i).map_err(get_err)?),
        "REAL" => json!(row.try_get::<f64, _>(i).map_err(get_err)?),
        "TEXT" => json!(row.try_get::<String, _>(i).map_err(get_err)?),
        "BLOB" => bytes_value(&row.try_get::<Vec<u8>, _>(i).map_err(get_err)?),
        other => {
            return Err(error(
                name,
                format!("SQLite storage class {other} is not carried by backups"),
            ))
        }
    })
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;
type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds `value` for a PostgreSQL column of type `target` (its
/// `udt_name`, e.g. `uuid`, `timestamptz`, `int8`).
pub fn bind_postgres<'q>(
    query: PgQuery<'q>,
    column: &str,
    target: &str,
    value: &Value,
) -> Result<PgQuery<'q>, ValueError> {
    let wrong = || error(column, format!("{value} does not fit a {target} column"));
    let null = value.is_null();
    Ok(match target {
        "uuid" => query.bind(if null {
            None
        } else {
            Some(to_uuid(value).ok_or_else(wrong)?)
        }),
        "bytea" => query.bind(if null {
            None
        } else {
            Some(as_bytes(value).ok_or_else(wrong)?)
        }),
        "timestamptz" | "timestamp" => query.bind(if null {
            None
        } else {
            let text = value.as_str().ok_or_else(wrong)?;
            Some(parse_timestamp(text).ok_or_else(wrong)?)
        }),
        "int2" | "int4" => query.bind(if null {
            None
        } else {
            Some(i32::try_from(value.as_i64().ok_or_else(wrong)?).map_err(|_| wrong())?)
        }),
        "int8" => query.bind(if null {
            None
        } else {
            Some(value.as_i64().ok_or_else(wrong)?)
        }),
        "float4" | "float8" => query.bind(if null {
            None
        } else {
            Some(value.as_f64().ok_or_else(wrong)?)
        }),
        "bool" => query.bind(if null {
            None
        } else {
            Some(value.as_bool().ok_or_else(wrong)?)
        }),
        "text" | "varchar" | "bpchar" | "name" => query.bind(if null {
            None
        } else {
            Some(value.as_str().ok_or_else(wrong)?.to_owned())
        }),
        other => {
            return Err(error(
                column,
                format!("PostgreSQL type {other} is not carried by backups"),
            ))
        }
    })
}

/// Binds `value` for a SQLite column (dynamically typed: the value's own
/// kind is kept, bytes as a blob).
pub fn bind_sqlite<'q>(query: SqliteQuery<'q>, column: &str, value: &Value) -> Result<SqliteQuery<'q>, ValueError> {
    Ok(match value {
        Value::Null => query.bind(None::<String>),
        Value::Bool(b) => query.bind(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => query.bind(i),
            None => query.bind(n.as_f64().ok_or_else(|| error(column, "a number out of range"))?),
        },
        Value::String(s) => query.bind(s.clone()),
        Value::Object(_) => query.bind(as_bytes(value).ok_or_else(|| error(column, "an object that is not bytes"))?),
        Value::Array(_) => return Err(error(column, "an array is not a column value")),
    })
}

/// A UUID from its 16 bytes (as SQLite keeps it) or its text.
fn to_uuid(value: &Value) -> Option<uuid::Uuid> {
    match as_bytes(value) {
        Some(bytes) => uuid::Uuid::from_slice(&bytes).ok(),
        None => value.as_str().and_then(|text| uuid::Uuid::parse_str(text).ok()),
    }
}

/// A timestamp as either driver writes it (`T` or a space, any fraction,
/// an offset or `Z`).
fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%F %T%.f%:z"))
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_back_in_either_spelling() {
        let at = Utc::now();
        assert_eq!(parse_timestamp(&timestamp_text(at)), Some(at));
        assert!(parse_timestamp("2026-12-02 16:40:33.5+00:00").is_some());
        assert!(parse_timestamp("2026-12-02T16:40:33Z").is_some());
        assert!(parse_timestamp("yesterday").is_none());
    }

    #[test]
    fn bytes_travel_as_base64() {
        let value = bytes_value(&[0, 1, 254, 255]);
        assert_eq!(value, json!({"bytes": "AAH+/w=="}));
        assert_eq!(as_bytes(&value), Some(vec![0, 1, 254, 255]));
        assert_eq!(as_bytes(&json!("AAH+/w==")), None, "a plain string is text, not bytes");
    }
}
