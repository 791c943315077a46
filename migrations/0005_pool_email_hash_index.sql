-- The Sender's outcomes name their Delivery by id (dispatch headers), so the Pool no longer needs the wide
-- (email, message_id) unique index for them; it was the Pool's largest (about 17 MB per 100,000 rows) and every
-- insert and every status change wrote into it. Only outcomes without an id (a bounce report about an address)
-- still look Deliveries up by address, for which a hash index on the address alone is enough. One Batch never
-- holds an address twice: intake collapses repeated recipients (case-insensitively) before the COPY.
ALTER TABLE sending_pool_emails DROP CONSTRAINT sending_pool_emails_email_message_id_key;
CREATE INDEX sending_pool_emails_email_idx ON sending_pool_emails USING hash (email);
