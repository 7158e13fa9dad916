/**
 * The users table the PostgreSQL data tests break and restore: every kind of object a fault can
 * drop (a unique index, an expression index, a check constraint, the primary key, an audit
 * trigger, a row-level-security policy, a grant) and 40 rows of text, numeric, jsonb, timestamptz
 * and NULLs.
 */
export const users = (schema: string) => `
  CREATE TABLE "${schema}".users (id int PRIMARY KEY, name text NOT NULL, role text NOT NULL DEFAULT 'user', email text, price numeric(10,2) CHECK (price >= 0), meta jsonb, seen timestamptz);
  CREATE UNIQUE INDEX users_email ON "${schema}".users (email);
  CREATE INDEX users_name ON "${schema}".users (lower(name));
  CREATE TABLE "${schema}".audit (at timestamptz DEFAULT now(), what text);
  CREATE FUNCTION "${schema}".audit_role() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO "${schema}".audit (what) VALUES (NEW.id || ':' || NEW.role); RETURN NEW; END $$;
  CREATE TRIGGER users_audit AFTER UPDATE OF role ON "${schema}".users FOR EACH ROW EXECUTE FUNCTION "${schema}".audit_role();
  ALTER TABLE "${schema}".users ENABLE ROW LEVEL SECURITY;
  CREATE POLICY users_own ON "${schema}".users FOR SELECT TO app USING (role <> 'hidden');
  GRANT SELECT ON "${schema}".users TO PUBLIC;
  INSERT INTO "${schema}".users SELECT i, 'user ' || i, CASE WHEN i = 1 THEN 'admin' ELSE 'user' END, CASE WHEN i % 7 = 0 THEN NULL ELSE 'u' || i || '@example.test' END,
    (i * 3.5)::numeric(10,2), jsonb_build_object('n', i, 'tags', jsonb_build_array('a', i)), timestamptz '2026-01-01 00:00:00+00' + i * interval '1 hour'
    FROM generate_series(1, 40) AS i;
`
