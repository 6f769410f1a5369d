create table deployments (
  id uuid primary key,
  seq bigserial not null unique,
  entity_id uuid not null references entities (id),
  environment text not null check (environment in ('dev', 'staging', 'paper', 'live')),
  version text not null,
  status text not null default 'in_progress'
    check (status in ('in_progress', 'completed', 'failed', 'rolled_back')),
  error text,
  rollback_reason text,
  started_by text not null,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  rolled_back_at timestamptz,
  updated_at timestamptz not null default now()
);

-- at most one deployment of an entity to an environment is in flight
create unique index deployments_one_in_progress_key on deployments (entity_id, environment)
  where status = 'in_progress';
create index deployments_entity_seq_idx on deployments (entity_id, seq);

create index outbox_entity_key_pending_idx on outbox (entity_key, id) where delivered_at is null;
