//! The rows a change can affect. New rows pull in every stored row they could pair with
//! (same event id; same visitor and name within the visitor window; their current
//! partner), and those rows pull in theirs, until nothing new comes: the connected
//! component. Re-deciding the whole component gives the same result as deciding every
//! row of the tenant at once, whatever order the rows arrived in.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::matching::{BrowserEvent, Category, ServerEvent, VISITOR_WINDOW_MS};
use crate::clock::day_of;
use crate::entities::{browser_events, dedup_matches};

/// A component stops growing past this many rows (a bot firing thousands of events);
/// rows at its edge whose partner lies outside keep their pairing unchanged.
pub const MAX_ROWS: usize = 5_000;
/// Terms per lookup statement.
const CHUNK: usize = 200;

#[derive(Debug, Clone)]
pub struct ServerRow {
    pub ev: ServerEvent,
    pub category: Category,
    pub partner: Option<Uuid>,
    pub day: String,
    /// Not stored yet (found by this step).
    pub new: bool,
}

#[derive(Debug, Clone)]
pub struct BrowserRow {
    pub ev: BrowserEvent,
    pub claimed_by: Option<Uuid>,
    pub day: String,
    pub new: bool,
}

impl From<dedup_matches::Model> for ServerRow {
    fn from(m: dedup_matches::Model) -> Self {
        ServerRow {
            day: day_of(m.received_at),
            category: Category::parse(&m.category).unwrap_or(Category::ServerOnly),
            partner: m.browser_row_id,
            ev: ServerEvent {
                row_id: m.event_row_id,
                event_name: m.event_name,
                event_id: m.event_id,
                fbp: m.fbp_hash,
                event_time_ms: m.event_time,
                received_at_ms: m.received_at,
            },
            new: false,
        }
    }
}

impl From<browser_events::Model> for BrowserRow {
    fn from(m: browser_events::Model) -> Self {
        BrowserRow {
            day: day_of(m.received_at),
            claimed_by: m.claimed_by,
            ev: BrowserEvent {
                row_id: m.id,
                event_name: m.event_name,
                event_id: m.event_id,
                fbp: m.fbp_hash,
                fired_at_ms: m.fired_at,
            },
            new: false,
        }
    }
}

#[derive(Debug, Default)]
pub struct Component {
    pub servers: BTreeMap<Uuid, ServerRow>,
    pub browsers: BTreeMap<Uuid, BrowserRow>,
}

impl Component {
    pub fn len(&self) -> usize {
        self.servers.len() + self.browsers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds the stored rows connected to `servers` and `browsers` (ids already in the
    /// component), round by round.
    pub async fn grow(
        &mut self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        mut servers: Vec<Uuid>,
        mut browsers: Vec<Uuid>,
    ) -> Result<(), DbErr> {
        while (!servers.is_empty() || !browsers.is_empty()) && self.len() < MAX_ROWS {
            let near_b = self.browsers_near(db, tenant_id, &servers).await?;
            let near_s = self.servers_near(db, tenant_id, &browsers).await?;
            browsers = self.add_browsers(near_b);
            servers = self.add_servers(near_s);
        }
        Ok(())
    }

    fn add_browsers(&mut self, rows: Vec<browser_events::Model>) -> Vec<Uuid> {
        let mut added = Vec::new();
        for row in rows {
            if let Entry::Vacant(slot) = self.browsers.entry(row.id) {
                added.push(row.id);
                slot.insert(row.into());
            }
        }
        added
    }

    fn add_servers(&mut self, rows: Vec<dedup_matches::Model>) -> Vec<Uuid> {
        let mut added = Vec::new();
        for row in rows {
            if let Entry::Vacant(slot) = self.servers.entry(row.event_row_id) {
                added.push(row.event_row_id);
                slot.insert(row.into());
            }
        }
        added
    }

    /// Processed observations that could pair with these server events.
    async fn browsers_near(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<browser_events::Model>, DbErr> {
        use browser_events::Column as C;
        let rows: Vec<&ServerRow> = ids.iter().filter_map(|id| self.servers.get(id)).collect();
        let mut conditions = Vec::new();
        let event_ids: BTreeSet<&str> = rows.iter().map(|r| r.ev.event_id.as_str()).collect();
        for chunk in event_ids.into_iter().collect::<Vec<_>>().chunks(CHUNK) {
            conditions.push(
                Condition::all()
                    .add(C::TenantId.eq(tenant_id))
                    .add(C::EventId.is_in(chunk.iter().copied())),
            );
        }
        let partners: Vec<Uuid> = rows.iter().filter_map(|r| r.partner).collect();
        for chunk in partners.chunks(CHUNK) {
            conditions.push(
                Condition::all()
                    .add(C::TenantId.eq(tenant_id))
                    .add(C::Id.is_in(chunk.iter().copied())),
            );
        }
        let visitors: Vec<_> = rows
            .iter()
            .filter_map(|r| {
                r.ev.fbp
                    .as_ref()
                    .map(|f| (f, &r.ev.event_name, r.ev.event_time_ms))
            })
            .collect();
        for chunk in visitors.chunks(CHUNK / 4) {
            let mut any = Condition::any();
            for (fbp, name, at) in chunk {
                any = any.add(
                    Condition::all()
                        .add(C::TenantId.eq(tenant_id))
                        .add(C::FbpHash.eq(fbp.as_str()))
                        .add(C::EventName.eq(name.as_str()))
                        .add(C::FiredAt.between(at - VISITOR_WINDOW_MS, at + VISITOR_WINDOW_MS)),
                );
            }
            conditions.push(any);
        }
        // Every condition names the tenant and an index of its own; nothing else at the
        // top level, so no planner prefers a scan of the tenant's rows.
        let mut out = Vec::new();
        for condition in conditions {
            let found = browser_events::Entity::find()
                .filter(condition)
                .all(db)
                .await?;
            out.extend(found.into_iter().filter(|b| b.processed_at.is_some()));
        }
        Ok(out)
    }

    /// Stored server events that could pair with these observations.
    async fn servers_near(
        &self,
        db: &impl ConnectionTrait,
        tenant_id: Uuid,
        ids: &[Uuid],
    ) -> Result<Vec<dedup_matches::Model>, DbErr> {
        use dedup_matches::Column as C;
        let rows: Vec<&BrowserRow> = ids.iter().filter_map(|id| self.browsers.get(id)).collect();
        let mut conditions = Vec::new();
        let event_ids: BTreeSet<&str> = rows
            .iter()
            .filter_map(|r| r.ev.event_id.as_deref())
            .collect();
        for chunk in event_ids.into_iter().collect::<Vec<_>>().chunks(CHUNK) {
            conditions.push(
                Condition::all()
                    .add(C::TenantId.eq(tenant_id))
                    .add(C::EventId.is_in(chunk.iter().copied())),
            );
        }
        let claimers: Vec<Uuid> = rows.iter().filter_map(|r| r.claimed_by).collect();
        for chunk in claimers.chunks(CHUNK) {
            conditions.push(
                Condition::all()
                    .add(C::TenantId.eq(tenant_id))
                    .add(C::EventRowId.is_in(chunk.iter().copied())),
            );
        }
        let visitors: Vec<_> = rows
            .iter()
            .filter_map(|r| {
                r.ev.fbp
                    .as_ref()
                    .map(|f| (f, &r.ev.event_name, r.ev.fired_at_ms))
            })
            .collect();
        for chunk in visitors.chunks(CHUNK / 4) {
            let mut any = Condition::any();
            for (fbp, name, at) in chunk {
                any = any.add(
                    Condition::all()
                        .add(C::TenantId.eq(tenant_id))
                        .add(C::FbpHash.eq(fbp.as_str()))
                        .add(C::EventName.eq(name.as_str()))
                        .add(C::EventTime.between(at - VISITOR_WINDOW_MS, at + VISITOR_WINDOW_MS)),
                );
            }
            conditions.push(any);
        }
        let mut out = Vec::new();
        for condition in conditions {
            out.extend(
                dedup_matches::Entity::find()
                    .filter(condition)
                    .all(db)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Server events whose stored partner is outside the component, and observations
    /// whose claimer is: they keep their pairing (see [`MAX_ROWS`]).
    pub fn pinned(&self) -> (BTreeSet<Uuid>, BTreeSet<Uuid>) {
        let servers = (self.servers.values())
            .filter(|s| s.partner.is_some_and(|b| !self.browsers.contains_key(&b)))
            .map(|s| s.ev.row_id)
            .collect();
        let browsers = (self.browsers.values())
            .filter(|b| b.claimed_by.is_some_and(|s| !self.servers.contains_key(&s)))
            .map(|b| b.ev.row_id)
            .collect();
        (servers, browsers)
    }
}
