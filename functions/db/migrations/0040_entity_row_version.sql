-- Optimistic concurrency for entity changes over SQL-over-HTTP: a change reads the row, then
-- updates it only if row_version is still the one it read (a lost race re-reads and retries).
alter table entities add column row_version bigint not null default 1;
