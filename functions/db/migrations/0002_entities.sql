create table entities (
  id uuid primary key,
  -- insertion order, used for stable cursor pagination
  seq bigserial not null unique,
  name text not null,
  type text not null check (type in ('strategy', 'model', 'indicator', 'risk_rule', 'data_feed', 'execution_algo')),
  version text not null,
  description text not null default '',
  config jsonb not null default '{}'::jsonb,
  metadata jsonb not null default '{}'::jsonb,
  status text not null default 'active' check (status in ('active', 'deprecated', 'deleted')),
  validation_status text not null default 'pending' check (validation_status in ('pending', 'passed', 'failed')),
  validation_results jsonb,
  validated_at timestamptz,
  created_by text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  deleted_at timestamptz,
  check ((status = 'deleted') = (deleted_at is not null))
);

-- a soft-deleted entity frees its (name, version)
create unique index entities_name_version_key on entities (name, version) where deleted_at is null;
create index entities_type_seq_idx on entities (type, seq);
create index entities_name_idx on entities (name text_pattern_ops);
