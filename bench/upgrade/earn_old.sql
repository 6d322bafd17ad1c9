-- The previous release's earn, as pgbench runs it during the upgrade.
\set c random(1, 200000)
\set b random(1, 1000)
\set s random(0, 15)
BEGIN;
SELECT * FROM badges WHERE id = lpad(to_hex(:b), 24, '0') AND org_id = 1;
SELECT customer_id FROM customers WHERE org_id = 1 AND customer_id = :c FOR UPDATE;
INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, revoked) VALUES (substr(md5(random()::text), 1, 24), 1, lpad(to_hex(:b), 24, '0'), :c, 1, 1, FALSE);
INSERT INTO badge_counts (badge_id, slot, issued, earned) VALUES (lpad(to_hex(:b), 24, '0'), :s, 0, 1) ON CONFLICT (badge_id, slot) DO UPDATE SET earned = badge_counts.earned + excluded.earned;
COMMIT;
