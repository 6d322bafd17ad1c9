-- Awards inserted alone (no badge read first), as pgbench runs it during the upgrade.
\set c random(1, 200000)
\set b random(1, 1000)
INSERT INTO awards (earned_badge_id, org_id, badge_id, customer_id, awarded_at, event_at, revoked) VALUES (substr(md5(random()::text), 1, 24), 1, lpad(to_hex(:b), 24, '0'), :c, 1, 1, FALSE);
