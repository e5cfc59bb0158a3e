-- name: set_tenant_mode
INSERT INTO tenant_settings (tenant_id, staging_upsert_mode)
VALUES (%(tenant_id)s, %(mode)s)
ON CONFLICT (tenant_id) DO UPDATE
SET staging_upsert_mode = EXCLUDED.staging_upsert_mode, updated_at = now();

-- name: get_tenant_mode
SELECT staging_upsert_mode FROM tenant_settings WHERE tenant_id = %(tenant_id)s;
