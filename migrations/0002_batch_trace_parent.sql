-- W3C traceparent of the API call that created the Batch, so every Delivery's dispatch and send join that trace.
ALTER TABLE messages ADD COLUMN trace_parent varchar(55) NULL;
