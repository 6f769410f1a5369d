create table swaps (
  id uuid primary key,
  -- insertion order, used for stable cursor pagination
  seq bigserial not null unique,
  from_entity_id uuid not null references entities (id),
  to_entity_id uuid not null references entities (id),
  reason text not null,
  initiated_by text not null,
  validate_only boolean not null default false,
  -- pending: command relayed, no answer yet; unknown: the executor did not answer in time and may
  -- still finish (settled later by its own swap.completed / swap.failed)
  status text not null default 'pending' check (
    status in ('pending', 'validated', 'rejected', 'completed', 'failed', 'unknown', 'rolled_back')
  ),
  message text,
  error_code text,
  validation_results jsonb,
  executor_response jsonb,
  actor text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  settled_at timestamptz,
  rolled_back_at timestamptz,
  check (from_entity_id <> to_entity_id)
);

create index swaps_status_seq_idx on swaps (status, seq);
create index swaps_from_entity_idx on swaps (from_entity_id);
create index swaps_to_entity_idx on swaps (to_entity_id);

-- One row per Idempotency-Key (per API key): the first request's body hash and, once it finished,
-- its response, which every retry gets back without relaying anything.
create table swap_idempotency_keys (
  actor text not null,
  key text not null,
  request_hash text not null,
  swap_id uuid references swaps (id),
  status_code int,
  response jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  primary key (actor, key)
);
