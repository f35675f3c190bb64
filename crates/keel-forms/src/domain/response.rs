//! What a response's owner (and its webhook) sees of a file uploaded with
//! it: never where it is stored. Its bytes are at
//! `/api/forms/{form}/responses/{response}/files/{id}`.

use serde::Serialize;
use uuid::Uuid;

/// A file uploaded with a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResponseFile {
    pub id: Uuid,
    /// The key of the file field.
    pub field: String,
    pub name: String,
    /// Bytes.
    pub size: u64,
    pub content_type: String,
}
