-- The Pool is the hottest table: every Delivery is inserted, moved through its states and deleted.
-- Each row version pays for every index and, on insert, for the foreign-key trigger; measured on a
-- 100,000-row insert the foreign key alone was about half the time. A Delivery's Batch is inserted in
-- the same transaction by the only code that writes Deliveries, and Batches are never deleted, so the
-- check guards nothing. No query looks Deliveries up by Batch alone, so its index goes too.
ALTER TABLE sending_pool_emails DROP CONSTRAINT sending_pool_emails_message_id_fkey;
DROP INDEX sending_pool_emails_message_id_idx;
