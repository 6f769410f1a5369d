-- Transactional outbox: a domain change and its event commit together; the event is handed to
-- the bridge afterwards and marked delivered only on its JetStream PubAck.
create table outbox (
  id bigserial primary key,
  event_id uuid not null unique,
  event_type text not null,
  subject text not null,
  -- events of one entity are delivered in id order
  entity_key text,
  payload jsonb not null,
  created_at timestamptz not null default now(),
  delivered_at timestamptz,
  stream_seq bigint,
  attempts int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text
);

create index outbox_pending_idx on outbox (delivered_at, next_attempt_at) where delivered_at is null;
