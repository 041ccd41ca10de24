//! Deliveries and their receipts. Every state a delivery enters is written together with a
//! receipt row in one transaction, and only if push-core's state machine allows the move:
//! the `UPDATE` is guarded by [`DeliveryState::predecessors`], so of two concurrent
//! identical transitions exactly one succeeds.
//!
//! A receipt carries the reason given with its own transition (a retry's or failure's),
//! and the delivery's vendor message id once known, so `delivered` and `opened` receipts
//! can be matched to the vendor's message.

use super::SqlStore;
use super::error::{corrupt, db_error, missing_parent};
use super::rows::{DeliveryRow, ReceiptRow, delivery_columns, millis, receipt_columns};
use push_core::{
    Delivery, DeliveryId, DeliveryState, ReceiptEvent, StoreError, StoreResult, Transition,
};
use sqlx::{Any, Transaction};
use time::OffsetDateTime;

/// How often a transition is tried again when the delivery changed under it to a state
/// that allows it (PostgreSQL, READ COMMITTED).
const STALE_RETRIES: usize = 3;

const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, app_id, notification_id, device_id, \
     channel, state, reason, vendor_message_id, attempts, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     ON CONFLICT (app_id, notification_id, device_id) DO NOTHING";
const INSERT_RECEIPT: &str = "INSERT INTO receipts (delivery_id, app_id, notification_id, \
     device_id, channel, state, reason, vendor_message_id, recorded_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const TRANSITION: &str = concat!(
    "UPDATE deliveries SET state = $2, reason = COALESCE($3, reason), \
     vendor_message_id = COALESCE($4, vendor_message_id), attempts = attempts + $5, \
     updated_at = $6 WHERE id = $1 AND state IN ($7, $8, $9) RETURNING ",
    delivery_columns!()
);
const STATE_OF: &str = "SELECT state FROM deliveries WHERE id = $1";
const GET_DELIVERY: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries WHERE id = $1"
);
const DELIVERIES_OF: &str = concat!(
    "SELECT ",
    delivery_columns!(),
    " FROM deliveries WHERE app_id = $1 AND notification_id = $2 ORDER BY device_id"
);
const RECEIPTS_OF: &str = concat!(
    "SELECT ",
    receipt_columns!(),
    " FROM receipts WHERE delivery_id = $1 ORDER BY seq"
);

impl SqlStore {
    /// Inserts the deliveries that are new for their (app, notification, device) and a
    /// receipt for each of them, all in one transaction.
    pub(super) async fn insert_deliveries_impl(
        &self,
        deliveries: &[Delivery],
    ) -> StoreResult<usize> {
        if deliveries.is_empty() {
            return Ok(0);
        }
        if self.backend == super::Backend::Postgres {
            return self.insert_deliveries_pg(deliveries).await;
        }
        let mut tx = self.begin().await?;
        let mut new = 0;
        for d in deliveries {
            let what = format!("delivery {}", d.id);
            let fail = |e: sqlx::Error| {
                missing_parent(
                    db_error(e, &what),
                    &format!("notification {} of app {}", d.notification_id, d.app_id),
                )
            };
            let done = sqlx::query(INSERT_DELIVERY)
                .bind(d.id.to_string())
                .bind(&d.app_id)
                .bind(&d.notification_id)
                .bind(&d.device_id)
                .bind(d.channel.as_str())
                .bind(d.state.as_str())
                .bind(d.reason.as_deref())
                .bind(d.vendor_message_id.as_deref())
                .bind(i64::from(d.attempts))
                .bind(millis(d.created_at))
                .bind(millis(d.updated_at))
                .execute(&mut *tx)
                .await
                .map_err(fail)?;
            if done.rows_affected() == 1 {
                new += 1;
                insert_receipt(&mut tx, d, d.reason.as_deref(), millis(d.created_at)).await?;
            }
        }
        tx.commit()
            .await
            .map_err(|e| db_error(e, "committing deliveries"))?;
        Ok(new)
    }

    /// Applies `t` if the delivery's state allows it, and records its receipt.
    pub(super) async fn transition_delivery_impl(
        &self,
        id: DeliveryId,
        t: &Transition,
        now: OffsetDateTime,
    ) -> StoreResult<Delivery> {
        let mut tx = self.begin().await?;
        let delivery = transition_in(&mut tx, id, t, millis(now)).await?;
        tx.commit()
            .await
            .map_err(|e| db_error(e, &format!("delivery {id}")))?;
        Ok(delivery)
    }

    pub(super) async fn get_delivery_impl(&self, id: DeliveryId) -> StoreResult<Option<Delivery>> {
        sqlx::query_as::<_, DeliveryRow>(GET_DELIVERY)
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("delivery {id}")))?
            .map(DeliveryRow::into_delivery)
            .transpose()
    }

    pub(super) async fn deliveries_of_impl(
        &self,
        app: &str,
        notification_id: &str,
    ) -> StoreResult<Vec<Delivery>> {
        sqlx::query_as::<_, DeliveryRow>(DELIVERIES_OF)
            .bind(app)
            .bind(notification_id)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("deliveries of {notification_id} of app {app}")))?
            .into_iter()
            .map(DeliveryRow::into_delivery)
            .collect()
    }

    pub(super) async fn receipts_of_impl(&self, id: DeliveryId) -> StoreResult<Vec<ReceiptEvent>> {
        sqlx::query_as::<_, ReceiptRow>(RECEIPTS_OF)
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(|e| db_error(e, &format!("receipts of delivery {id}")))?
            .into_iter()
            .map(ReceiptRow::into_event)
            .collect()
    }
}

/// Applies `t` inside `tx` if the delivery's state allows it, and records its receipt;
/// `IllegalTransition` when it does not, `NotFound` when there is no such delivery.
pub(super) async fn transition_in(
    tx: &mut Transaction<'static, Any>,
    id: DeliveryId,
    t: &Transition,
    now: i64,
) -> StoreResult<Delivery> {
    let what = format!("delivery {id}");
    let to = t.target();
    let guard = to.predecessors();
    let mut tries = 0;
    let delivery = loop {
        let updated = match guard.first() {
            Some(first) => sqlx::query_as::<_, DeliveryRow>(TRANSITION)
                .bind(id.to_string())
                .bind(to.as_str())
                .bind(t.reason())
                .bind(t.vendor_message_id())
                .bind(i64::from(to == DeliveryState::Sending))
                .bind(now)
                // The guard has one to three states; repeating one keeps the SQL fixed.
                .bind(guard.get(1).unwrap_or(first).as_str())
                .bind(guard.get(2).unwrap_or(first).as_str())
                .bind(first.as_str())
                .fetch_optional(&mut **tx)
                .await
                .map_err(|e| db_error(e, &what))?,
            None => None,
        };
        if let Some(row) = updated {
            break row.into_delivery()?;
        }
        let state: Option<String> = sqlx::query_scalar(STATE_OF)
            .bind(id.to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(|e| db_error(e, &what))?;
        let Some(state) = state else {
            return Err(StoreError::NotFound(what));
        };
        let from: DeliveryState = state.parse().map_err(|e| corrupt(&what, "state", e))?;
        tries += 1;
        if !from.can_become(to) || tries > STALE_RETRIES {
            return Err(StoreError::IllegalTransition { id, from, to });
        }
    };
    insert_receipt(tx, &delivery, t.reason(), now).await?;
    Ok(delivery)
}

/// Records that `d` entered its current state at `at` (unix milliseconds).
async fn insert_receipt(
    tx: &mut Transaction<'static, Any>,
    d: &Delivery,
    reason: Option<&str>,
    at: i64,
) -> StoreResult<()> {
    sqlx::query(INSERT_RECEIPT)
        .bind(d.id.to_string())
        .bind(&d.app_id)
        .bind(&d.notification_id)
        .bind(&d.device_id)
        .bind(d.channel.as_str())
        .bind(d.state.as_str())
        .bind(reason)
        .bind(d.vendor_message_id.as_deref())
        .bind(at)
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error(e, &format!("receipt of delivery {}", d.id)))?;
    Ok(())
}
