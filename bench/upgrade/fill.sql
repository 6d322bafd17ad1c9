-- The previous release's schema filled for the org-keys upgrade measurement
-- (docs/RELIABILITY.md): run after `$(.ci/previous-release) migrate`.
INSERT INTO orgs (id, name, created_at) VALUES (1, 'big', 0);
SELECT setval(pg_get_serial_sequence('orgs','id'), 1);
INSERT INTO badges (id, org_id, name, name_lower, description, earn_type, active, starts_on, expires_on,
  created_on, last_updated_on, group_id, rank, earned_badge_expiry, issued_badge_expiry)
SELECT lpad(to_hex(i), 24, '0'), 1, 'B' || i, 'b' || i, '', 'EARN', TRUE, 0, 4102444800000000, 0, 0, NULL, NULL,
  '{"expiryType":"NEVER"}', '{"expiryType":"NEVER"}' FROM generate_series(1, 1000) i;
INSERT INTO badge_images (badge_id, name, file_svc_handle, url, tag) SELECT lpad(to_hex(i), 24, '0'), 'i', 'h', 'u', 'EARNED' FROM generate_series(1, 1000) i;
INSERT INTO badge_owners (badge_id, owner, position) SELECT lpad(to_hex(i), 24, '0'), 'Loyalty', 0 FROM generate_series(1, 1000) i;
INSERT INTO badge_claims (badge_id, owner_type, reference_id, is_active) SELECT lpad(to_hex(i), 24, '0'), 'Loyalty', 'r' || i, TRUE FROM generate_series(1, 1000) i;
INSERT INTO badge_counts (badge_id, slot, issued, earned) SELECT lpad(to_hex(i), 24, '0'), 0, 0, 0 FROM generate_series(1, 1000) i;
INSERT INTO customers (org_id, customer_id) SELECT 1, c FROM generate_series(1, 200000) c;
INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, revoked)
SELECT 'f' || lpad(to_hex(i), 23, '0'), 1, lpad(to_hex(1 + i % 1000), 24, '0'), 1 + i % 200000, i, i, FALSE
FROM generate_series(1, 2000000) i;
INSERT INTO enrolments (org_id, badge_id, customer_id, issued_at, revoked, issued_badge_id)
SELECT 1, lpad(to_hex(1 + i % 1000), 24, '0'), 1 + i % 200000, i, FALSE, lpad(to_hex(i), 24, 'e')
FROM generate_series(1, 2000000) i;
VACUUM ANALYZE;
