-- Retention deletes delivered rows oldest first (see functions/db/retention.ts).
create index outbox_delivered_at_idx on outbox (delivered_at) where delivered_at is not null;
