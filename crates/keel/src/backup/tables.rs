//! The database side: which tables there are (every table but the
//! migrations ledger, in creation order, so a parent comes before the
//! tables that refer to it), each dumped row by row in its key's order, and
//! loaded back in batches inside the restore's transaction.

use std::io::Write;

use futures_util::TryStreamExt;
use serde_json::Value;

use super::values::{self, ValueError};
use super::BackupError;
use crate::db::{Db, DbError, Tx};

/// Rows per `INSERT` while loading.
const BATCH: usize = 200;

/// A table and its columns (name and type: PostgreSQL's `udt_name`, or
/// SQLite's declared type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, String)>,
}

impl Table {
    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|(name, _)| quote(name))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `"name"`, for an identifier read from the database's own catalog.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

const SQLITE_TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' \
     AND name NOT LIKE 'sqlite_%' AND name <> 'keel_migrations' ORDER BY rowid";
const POSTGRES_TABLES: &str = "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname <> 'keel_migrations' ORDER BY c.oid";
const POSTGRES_COLUMNS: &str = "SELECT column_name::text, udt_name::text FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position";

/// Every table of the database but the migrations ledger, parents first.
pub async fn list(db: &Db) -> Result<Vec<Table>, DbError> {
    let mut tables = Vec::new();
    match db {
        Db::Sqlite(pool, _) => {
            let names: Vec<String> = sqlx::query_scalar(SQLITE_TABLES).fetch_all(pool).await?;
            for name in names {
                let rows: Vec<(i64, String, String, i64, Option<String>, i64)> =
                    sqlx::query_as(&format!("PRAGMA table_info({})", quote(&name)))
                        .fetch_all(pool)
                        .await?;
                let columns = rows.into_iter().map(|(_, column, kind, ..)| (column, kind)).collect();
                tables.push(Table { name, columns });
            }
        }
        Db::Postgres(pool) => {
            let names: Vec<String> = sqlx::query_scalar(POSTGRES_TABLES).fetch_all(pool).await?;
            for name in names {
                let columns: Vec<(String, String)> =
                    sqlx::query_as(POSTGRES_COLUMNS).bind(&name).fetch_all(pool).await?;
                tables.push(Table { name, columns });
            }
        }
    }
    Ok(tables)
}

/// A read transaction on one connection: every table dumped in it shows
/// the same moment (PostgreSQL `REPEATABLE READ`; SQLite's read snapshot
/// in WAL mode), while the server keeps serving.
pub struct Snapshot {
    conn: Conn,
    pub tables: Vec<Table>,
}

enum Conn {
    Sqlite(sqlx::pool::PoolConnection<sqlx::Sqlite>),
    Postgres(sqlx::pool::PoolConnection<sqlx::Postgres>),
}

impl Snapshot {
    pub async fn begin(db: &Db) -> Result<Self, DbError> {
        let tables = list(db).await?;
        let conn = match db {
            Db::Sqlite(pool, _) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("BEGIN").execute(&mut *conn).await?;
                Conn::Sqlite(conn)
            }
            Db::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .execute(&mut *conn)
                    .await?;
                Conn::Postgres(conn)
            }
        };
        Ok(Self { conn, tables })
    }

    pub async fn end(self) -> Result<(), DbError> {
        match self.conn {
            Conn::Sqlite(mut conn) => sqlx::query("COMMIT").execute(&mut *conn).await.map(drop)?,
            Conn::Postgres(mut conn) => sqlx::query("COMMIT").execute(&mut *conn).await.map(drop)?,
        }
        Ok(())
    }

    /// Writes `table` to `out` as JSON lines: a header naming the table
    /// and its columns, then one array per row, in the order of the first
    /// columns. Returns the row count.
    pub async fn dump(&mut self, table: &Table, out: &mut impl Write) -> Result<u64, BackupError> {
        let names: Vec<&str> = table.columns.iter().map(|(n, _)| n.as_str()).collect();
        let header = serde_json::json!({ "table": table.name, "columns": names });
        writeln!(out, "{header}").map_err(BackupError::spool)?;
        // Every column, in order: a total order even when the first one
        // has ties (byte order for text on PostgreSQL, as SQLite sorts).
        let postgres = matches!(self.conn, Conn::Postgres(_));
        let order: Vec<String> = table
            .columns
            .iter()
            .map(|(n, t)| {
                let collate = if postgres && t == "text" { " COLLATE \"C\"" } else { "" };
                format!("{}{collate}", quote(n))
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {}",
            table.column_list(),
            quote(&table.name),
            order.join(", ")
        );
        match &mut self.conn {
            Conn::Sqlite(conn) => {
                let stream = sqlx::query(&sql).fetch(&mut **conn);
                write_rows(stream, out, table.columns.len(), |row, i| {
                    values::from_sqlite(row, i, &table.columns[i].1)
                })
                .await
            }
            Conn::Postgres(conn) => {
                let stream = sqlx::query(&sql).fetch(&mut **conn);
                write_rows(stream, out, table.columns.len(), values::from_postgres).await
            }
        }
    }
}

/// Each row of `stream` as one JSON array line, its `width` columns read
/// by `value`; the row count.
async fn write_rows<R>(
    mut stream: impl futures_util::Stream<Item = Result<R, sqlx::Error>> + Unpin,
    out: &mut impl Write,
    width: usize,
    value: impl Fn(&R, usize) -> Result<Value, ValueError>,
) -> Result<u64, BackupError> {
    let mut rows = 0;
    let mut line = Vec::with_capacity(width);
    while let Some(row) = stream.try_next().await.map_err(DbError::from)? {
        line.clear();
        for i in 0..width {
            line.push(value(&row, i)?);
        }
        write_row(out, &line)?;
        rows += 1;
    }
    Ok(rows)
}

fn write_row(out: &mut impl Write, row: &[Value]) -> Result<(), BackupError> {
    serde_json::to_writer(&mut *out, row).map_err(|e| BackupError::spool(e.into()))?;
    out.write_all(b"\n").map_err(BackupError::spool)
}

/// Whether any table holds a row.
pub async fn any_rows(db: &Db, tables: &[Table]) -> Result<Option<String>, DbError> {
    for table in tables {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", quote(&table.name));
        let found: bool = crate::on_pool!(db, pool => sqlx::query_scalar(&sql).fetch_one(pool).await?);
        if found {
            return Ok(Some(table.name.clone()));
        }
    }
    Ok(None)
}

/// SQLite checks foreign keys at the commit rather than per row, so the
/// tables' order cannot fail a load (PostgreSQL's are loaded parents
/// first, in creation order).
pub async fn defer_foreign_keys(tx: &mut Tx) -> Result<(), DbError> {
    if let Tx::Sqlite(conn, _) = tx {
        sqlx::query("PRAGMA defer_foreign_keys = ON")
            .execute(&mut **conn)
            .await?;
    }
    Ok(())
}

/// Deletes every row of `tables`, children first, in `tx`.
pub async fn clear(tx: &mut Tx, tables: &[Table]) -> Result<(), DbError> {
    for table in tables.iter().rev() {
        let sql = format!("DELETE FROM {}", quote(&table.name));
        crate::on_tx!(tx, conn => { sqlx::query(&sql).execute(&mut **conn).await?; });
    }
    Ok(())
}

/// Loads rows into `table` from lines of its dump, in `tx`.
pub struct Loader<'t> {
    table: &'t Table,
    /// For each dumped column, its type in the target table.
    targets: Vec<String>,
    columns: Vec<String>,
    pending: Vec<Vec<Value>>,
    pub rows: u64,
}

impl<'t> Loader<'t> {
    /// A loader for a dump with `columns`; every one must exist in the
    /// target table.
    pub fn new(table: &'t Table, columns: Vec<String>) -> Result<Self, BackupError> {
        let mut targets = Vec::with_capacity(columns.len());
        for column in &columns {
            let Some((_, kind)) = table.columns.iter().find(|(name, _)| name == column) else {
                return Err(BackupError::Schema(format!(
                    "the archive's table {} has a column {column} this database lacks",
                    table.name
                )));
            };
            targets.push(kind.clone());
        }
        Ok(Self {
            table,
            targets,
            columns,
            pending: Vec::with_capacity(BATCH),
            rows: 0,
        })
    }

    pub async fn push(&mut self, tx: &mut Tx, row: Vec<Value>) -> Result<(), BackupError> {
        if row.len() != self.columns.len() {
            return Err(BackupError::Corrupt(format!(
                "a row of {} has the wrong number of values",
                self.table.name
            )));
        }
        self.pending.push(row);
        if self.pending.len() == BATCH {
            self.flush(tx).await?;
        }
        Ok(())
    }

    pub async fn flush(&mut self, tx: &mut Tx) -> Result<(), BackupError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let width = self.columns.len();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            quote(&self.table.name),
            self.columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ")
        );
        for (r, _) in self.pending.iter().enumerate() {
            let slots: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
            sql.push_str(if r == 0 { "(" } else { ", (" });
            sql.push_str(&slots.join(", "));
            sql.push(')');
        }
        let rows = std::mem::take(&mut self.pending);
        let count = rows.len() as u64;
        match tx {
            Tx::Sqlite(conn, _) => {
                let mut query = sqlx::query(&sql);
                for row in &rows {
                    for (column, value) in self.columns.iter().zip(row) {
                        query = values::bind_sqlite(query, column, value)?;
                    }
                }
                query.execute(&mut **conn).await.map_err(DbError::from)?;
            }
            Tx::Postgres(conn) => {
                let mut query = sqlx::query(&sql);
                for row in &rows {
                    for ((column, target), value) in self.columns.iter().zip(&self.targets).zip(row) {
                        query = values::bind_postgres(query, column, target, value)?;
                    }
                }
                query.execute(&mut **conn).await.map_err(DbError::from)?;
            }
        }
        self.rows += count;
        Ok(())
    }
}

/// After a load on PostgreSQL: each serial column's sequence continues
/// after the largest value loaded (SQLite keeps its own counter).
pub async fn reset_sequences(tx: &mut Tx, tables: &[Table]) -> Result<(), DbError> {
    let Tx::Postgres(conn) = tx else { return Ok(()) };
    for table in tables {
        for (column, _) in &table.columns {
            let sequence: Option<String> = sqlx::query_scalar("SELECT pg_get_serial_sequence($1, $2)")
                .bind(quote(&table.name))
                .bind(column)
                .fetch_one(&mut **conn)
                .await?;
            if let Some(sequence) = sequence {
                let sql = format!(
                    "SELECT setval($1, COALESCE(MAX({c}), 1), MAX({c}) IS NOT NULL) FROM {t}",
                    c = quote(column),
                    t = quote(&table.name)
                );
                sqlx::query(&sql).bind(sequence).execute(&mut **conn).await?;
            }
        }
    }
    Ok(())
}

impl From<ValueError> for BackupError {
    fn from(err: ValueError) -> Self {
        BackupError::Value(err.to_string())
    }
}
