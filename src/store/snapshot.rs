//! Each org's catalogue index, encoded, in one row (`catalogue_snapshots`)
//! of a version of the org's catalogue: a process that loads the org reads it
//! by key, in the statement that reads the org's version; every catalogue
//! write of this release carries it to the version it moves the catalogue
//! to. A row behind the org's version (written before a change by a writer
//! that does not keep it: the seed, or a previous release during a rolling
//! upgrade), of another format, or that does not decode, is never trusted:
//! the reader builds the index from the catalogue's tables and writes the row
//! again.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, FromQueryResult};

use super::Store;
use super::sql::Sql;
use super::tx::Tx;
use crate::domain::badge::Badge;
use crate::domain::catalogue::{Catalogue, IndexedBadge, IndexedGroup, SNAPSHOT_FORMAT};
use crate::error::{Error, Result};

/// The org's catalogue version and its snapshot row, if any.
#[derive(Debug, FromQueryResult)]
struct Stored {
    current: i64,
    version: Option<i64>,
    format: Option<i32>,
    data: Option<Vec<u8>>,
}

impl Stored {
    /// The index the row holds, when it is of `version` and reads.
    fn index_at(self, org: i32, version: i64) -> Option<Catalogue> {
        let (Some(v), Some(SNAPSHOT_FORMAT), Some(data)) = (self.version, self.format, self.data)
        else {
            return None;
        };
        if v != version {
            return None;
        }
        Catalogue::decode(org, v, &data)
            .inspect_err(|e| tracing::warn!(org, error = %e, "a catalogue snapshot does not decode; rebuilt"))
            .ok()
    }
}

async fn stored(conn: &impl ConnectionTrait, store: &Store, org: i32) -> Result<Option<Stored>> {
    let mut sql = Sql::new(store.dialect);
    sql.push(
        "SELECT o.catalogue_version AS current, s.version, s.format, s.data FROM orgs o \
         LEFT JOIN catalogue_snapshots s ON s.org_id = o.id WHERE o.id = ",
    )
    .bind(org);
    Ok(Stored::find_by_statement(sql.build()).one(conn).await?)
}

impl Store {
    /// The org's catalogue index at its current version: from its snapshot
    /// row when that is current (one statement), else built from the
    /// catalogue's tables in one snapshot, and its row written again in the
    /// background.
    pub async fn load_catalogue(&self, org: i32) -> Result<Catalogue> {
        let stored = stored(&self.db, self, org)
            .await?
            .ok_or_else(|| Error::Internal(format!("org {org} has no row")))?;
        let current = stored.current;
        if let Some(index) = stored.index_at(org, current) {
            return Ok(index);
        }
        let built = self.build_catalogue(org).await?;
        // Written after the call, not in it: the call needs only the index,
        // and on SQLite the one writer connection may be busy with a write.
        let (store, version, data) = (self.clone(), built.version(), built.encode());
        tokio::spawn(async move {
            if let Err(e) = store.save_snapshot(org, version, data).await {
                tracing::warn!(org, error = %e, "a catalogue snapshot could not be written");
            }
        });
        Ok(built)
    }

    /// Writes `data`, the index of `org` at `version`, as its snapshot,
    /// unless the row already holds a later version.
    async fn save_snapshot(&self, org: i32, version: i64, data: Vec<u8>) -> Result<()> {
        let mut sql = Sql::new(self.dialect);
        sql.push("INSERT INTO catalogue_snapshots (org_id, version, format, data) VALUES (")
            .bind(org)
            .push(", ")
            .bind(version)
            .push(", ")
            .bind(SNAPSHOT_FORMAT)
            .push(", ")
            .bind(data)
            .push(
                ") ON CONFLICT (org_id) DO UPDATE SET version = excluded.version, \
                 format = excluded.format, data = excluded.data \
                 WHERE catalogue_snapshots.version < excluded.version \
                 OR catalogue_snapshots.format <> excluded.format",
            );
        self.writer.execute_raw(sql.build()).await?;
        Ok(())
    }
}

impl Tx<'_> {
    /// Carries the org's snapshot to the version this write moved the
    /// catalogue to, with `changed` (a badge this write created or changed)
    /// in it. Only a snapshot of the version just before this write can be
    /// carried; any other is left for the next reader to rebuild.
    pub async fn carry_snapshot(&self, changed: Option<&Badge>) -> Result<()> {
        self.carry(changed, None).await
    }

    /// As [`Tx::carry_snapshot`], for a write that renamed or re-ranked
    /// the group `id`.
    pub async fn carry_group_snapshot(&self, id: &str, group: IndexedGroup) -> Result<()> {
        self.carry(None, Some((id, group))).await
    }

    async fn carry(
        &self,
        changed: Option<&Badge>,
        regrouped: Option<(&str, IndexedGroup)>,
    ) -> Result<()> {
        let org = self.org();
        let Some(stored) = stored(self.conn(), self.store(), org).await? else {
            return Ok(());
        };
        let current = stored.current;
        let Some(before) = stored.index_at(org, current - 1) else {
            return Ok(());
        };
        let (mut badges, mut groups): (Vec<IndexedBadge>, HashMap<String, IndexedGroup>) =
            before.indexed();
        if let Some((id, group)) = regrouped
            && let Some(known) = groups.get_mut(id)
        {
            *known = group;
        }
        if let Some(badge) = changed {
            if let Some(id) = &badge.group_id
                && !groups.contains_key(id)
                && let Some(group) = self.indexed_group(id).await?
            {
                groups.insert(id.clone(), group);
            }
            let entry = IndexedBadge::of(badge);
            match badges.iter_mut().find(|b| b.id == entry.id) {
                Some(b) => *b = entry,
                None => badges.push(entry),
            }
        }
        let after = Catalogue::new(org, current, badges, &groups)
            .map_err(|e| Error::Internal(format!("org {org}'s catalogue: {e}")))?;
        let mut sql = Sql::new(self.store().dialect);
        sql.push("UPDATE catalogue_snapshots SET version = ")
            .bind(current)
            .push(", format = ")
            .bind(SNAPSHOT_FORMAT)
            .push(", data = ")
            .bind(after.encode())
            .push(" WHERE org_id = ")
            .bind(org);
        self.conn().execute_raw(sql.build()).await?;
        Ok(())
    }
}
