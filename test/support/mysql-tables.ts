/**
 * The users table the MySQL data tests break and restore: every kind of object a fault can drop
 * (a unique index, two more indexes after it, a check constraint, a foreign key, two audit
 * triggers firing in order, a grant to another user) and 40 rows of text, decimal, float, json,
 * datetime, binary and NULLs.
 */
export const users = `
  CREATE TABLE teams (id int PRIMARY KEY, name varchar(50) NOT NULL);
  INSERT INTO teams VALUES (1, 'red'), (2, 'blue');
  CREATE TABLE users (
    id int PRIMARY KEY, name varchar(200) NOT NULL, role varchar(20) NOT NULL DEFAULT 'user', email varchar(200), price decimal(10,2), ratio float, meta json,
    seen datetime(6), avatar varbinary(16), note text, team int,
    UNIQUE KEY users_email (email), KEY users_name (name), KEY users_role (role, name),
    CONSTRAINT users_price_check CHECK (price >= 0), CONSTRAINT users_ratio_check CHECK (ratio < 1000),
    CONSTRAINT users_team_fk FOREIGN KEY (team) REFERENCES teams (id)
  ) ENGINE=InnoDB;
  CREATE TABLE audit (n int AUTO_INCREMENT PRIMARY KEY, what text);
  CREATE TRIGGER users_audit AFTER UPDATE ON users FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT(NEW.id, ':', NEW.role));
  CREATE TRIGGER users_audit2 AFTER UPDATE ON users FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('second ', NEW.id));
  GRANT SELECT, INSERT ON users TO 'reporting'@'%';
  INSERT INTO users (id, name, role, email, price, ratio, meta, seen, avatar, note, team)
    WITH RECURSIVE seq (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 40)
    SELECT i, CONCAT('user ', i, IF(i % 5 = 0, ' ünï', '')), IF(i = 1, 'admin', 'user'), IF(i % 7 = 0, NULL, CONCAT('u', i, '@example.test')), i * 3.5, i / 3,
      JSON_OBJECT('n', i, 'tags', JSON_ARRAY('a', i)), TIMESTAMP('2026-01-01 00:00:00.123456') + INTERVAL i HOUR, UNHEX(MD5(i)), IF(i % 3 = 0, NULL, REPEAT('x', i)), 1 + i % 2
    FROM seq;
`
