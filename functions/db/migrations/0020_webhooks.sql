-- Inbound webhooks: one row per (source, webhook-id) accepted, written in the same transaction as the
-- events it produced, so a repeat (even a concurrent one) finds it and gets the first response back.
create table webhook_receipts (
  source text not null,
  webhook_id text not null,
  webhook_type text not null,
  received_at timestamptz not null default now(),
  response_status int,
  response_body jsonb,
  primary key (source, webhook_id)
);

create index webhook_receipts_received_at_idx on webhook_receipts (received_at);

-- Last reported health per component, fed by health.degraded / health.recovered webhooks.
create table component_health (
  component text primary key,
  degraded boolean not null,
  status text not null,
  details jsonb,
  source text not null,
  observed_at timestamptz not null,
  changed_at timestamptz not null default now()
);
