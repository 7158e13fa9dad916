/**
 * The integrity probes' SQL: an order-independent digest of a table's rows, and a fingerprint of
 * its schema. Both are computed by the server, in one read-only snapshot, with the session
 * settings every shiftup session fixes (so a value prints the same each time).
 */
import { type Checksum, fingerprintOf } from "../../internal/digest.ts"
import type { Session } from "./client.ts"
import { requireTable } from "./catalog.ts"
import { qualified, show, type TableName } from "./sql.ts"

export type { Checksum } from "../../internal/digest.ts"

/** A table's schema: what its columns, indexes, constraints, triggers, policies and grants are. */
export interface SchemaFingerprint {
  readonly table: string
  /** md5 over everything below. */
  readonly digest: string
  readonly columns: ReadonlyArray<string>
  readonly indexes: ReadonlyArray<string>
  readonly constraints: ReadonlyArray<string>
  readonly triggers: ReadonlyArray<string>
  readonly policies: ReadonlyArray<string>
  /** `enabled,forced` of the table's row level security. */
  readonly rowSecurity: string
  readonly grants: ReadonlyArray<string>
}

// The digests are sorted byte-wise (COLLATE "C"): the same on every server whatever its collation, and the cheapest sort.
export const checksum = async (s: Session, table: TableName, missing: (detail: string) => Error): Promise<Checksum> => {
  await requireTable(s, table, missing)
  const [r] = await s.query(
    `SELECT count(*)::int8::text AS n, md5(coalesce(string_agg(h, '' ORDER BY h COLLATE "C"), '')) AS d FROM (SELECT md5(ROW(r.*)::text) AS h FROM ${qualified(table)} AS r) AS hashes`,
  )
  return { table: show(table), rows: Number(r?.["n"] ?? 0), digest: String(r?.["d"] ?? "") }
}

const texts = async (s: Session, text: string, oid: string): Promise<ReadonlyArray<string>> => (await s.query(text, [oid])).map((r) => String(r["x"])).sort()

export const fingerprint = async (s: Session, table: TableName, missing: (detail: string) => Error): Promise<SchemaFingerprint> => {
  const info = await requireTable(s, table, missing)
  const oid = info.oid
  const columns = await s.query(
    `SELECT a.attnum, concat_ws(' ', quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), CASE WHEN a.attnotnull THEN 'NOT NULL' END,
            'DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), CASE WHEN a.attidentity <> '' THEN 'IDENTITY ' || a.attidentity::text END,
            CASE WHEN a.attgenerated <> '' THEN 'GENERATED' END, CASE WHEN co.collname IS NOT NULL AND a.attcollation <> t.typcollation THEN 'COLLATE ' || quote_ident(co.collname) END) AS x
       FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum LEFT JOIN pg_collation co ON co.oid = a.attcollation
      WHERE a.attrelid = $1::int8::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [oid],
  )
  const indexes = await texts(s, "SELECT pg_get_indexdef(indexrelid) || CASE WHEN indisclustered THEN ' CLUSTERED' ELSE '' END || CASE WHEN indisreplident THEN ' REPLICA IDENTITY' ELSE '' END || CASE WHEN NOT indisvalid THEN ' INVALID' ELSE '' END AS x FROM pg_index WHERE indrelid = $1::int8::oid", oid)
  const constraints = await texts(s, "SELECT quote_ident(conname) || ' ' || pg_get_constraintdef(oid) AS x FROM pg_constraint WHERE conrelid = $1::int8::oid", oid)
  const triggers = await texts(s, "SELECT pg_get_triggerdef(oid) || ' [' || tgenabled::text || ']' AS x FROM pg_trigger WHERE tgrelid = $1::int8::oid AND NOT tgisinternal", oid)
  const policies = await texts(
    s,
    `SELECT quote_ident(polname) || CASE WHEN polpermissive THEN ' PERMISSIVE' ELSE ' RESTRICTIVE' END || ' ' || polcmd::text
            || ' TO ' || (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ',' ORDER BY r) FROM unnest(polroles) AS r)
            || coalesce(' USING (' || pg_get_expr(polqual, polrelid) || ')', '') || coalesce(' WITH CHECK (' || pg_get_expr(polwithcheck, polrelid) || ')', '') AS x
       FROM pg_policy WHERE polrelid = $1::int8::oid`,
    oid,
  )
  const [rls] = await s.query("SELECT relrowsecurity::text || ',' || relforcerowsecurity::text AS x, coalesce(relacl::text, '') AS acl, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = $1::int8::oid", [oid])
  const columnGrants = await texts(s, "SELECT quote_ident(attname) || ' ' || attacl::text AS x FROM pg_attribute WHERE attrelid = $1::int8::oid AND attnum > 0 AND attacl IS NOT NULL", oid)
  const grants = [`owner ${String(rls?.["owner"] ?? "")}`, `table ${String(rls?.["acl"] ?? "")}`, ...columnGrants]
  const parts = { columns: columns.map((c) => String(c["x"])), indexes, constraints, triggers, policies, rowSecurity: String(rls?.["x"] ?? ""), grants }
  return fingerprintOf(show(table), parts)
}
