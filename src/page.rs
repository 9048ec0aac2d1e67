//! Cursor paging shared by every list: newest first, `limit` 1..=500 (default 50), the
//! cursor is the id of the last row returned (ids are UUIDv7, so id order is time order).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{AppError, AppResult};

/// What a cursor looks like: empty, or a hyphenated UUID as `next_cursor` gives it.
pub const CURSOR: &str =
    "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$";

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: u64,
    pub before: Option<Uuid>,
}

impl PageQuery {
    pub fn parse(&self) -> AppResult<PageRequest> {
        let limit = self.limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(
                AppError::bad_request("invalid_query", "limit must be between 1 and 500")
                    .with_field("limit"),
            );
        }
        let before = match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                Uuid::try_parse(c)
                    .ok()
                    .filter(|_| c.len() == 36)
                    .ok_or_else(|| {
                        AppError::bad_request("invalid_query", "cursor is not valid")
                            .with_field("cursor")
                    })?,
            ),
        };
        Ok(PageRequest { limit, before })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `limit + 1`: the extra row only says there is more.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        request: PageRequest,
        id: impl Fn(&R) -> Uuid,
        map: impl Fn(R) -> T,
    ) -> Self {
        let more = rows.len() as u64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        Page {
            data: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn before(cursor: &str) -> AppResult<Option<Uuid>> {
        let q = PageQuery {
            limit: None,
            cursor: Some(cursor.into()),
        };
        q.parse().map(|p| p.before)
    }

    #[test]
    fn a_cursor_is_the_hyphenated_id_next_cursor_gives_or_empty() {
        let id = Uuid::now_v7();
        assert_eq!(before(&id.to_string()).unwrap(), Some(id));
        assert_eq!(before("").unwrap(), None);
        for bad in [
            id.simple().to_string(),
            id.braced().to_string(),
            "õL".into(),
        ] {
            let err = before(&bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("cursor"), "{bad}");
        }
    }
}
